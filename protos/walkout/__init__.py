"""Walkout wire contracts generated from the .proto files under protos/walkout/."""
