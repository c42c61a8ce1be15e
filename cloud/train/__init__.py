"""Cloud retraining jobs. `cloud.train.detector`: the person/hand detector (ultralytics YOLO).

Everything here needs the `train` extra (torch, ultralytics, onnx, onnxslim), imported lazily so
that `walkout --help` and the edge runtime never pay for it.
"""
