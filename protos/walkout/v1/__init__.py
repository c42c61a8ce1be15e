"""Generated Python code of the walkout.v1 wire schema (regenerate: python protos/generate.py)."""

# Revision of walkout.v1 that this code was generated from; producers put it in
# EventHeader.schema_version. Add one whenever a field, message or enum value is added.
SCHEMA_VERSION = 1
