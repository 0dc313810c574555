"""The legs of ``bench.stream`` that run as worker processes of their own.

Each is started as ``python -m bench.stream_legs.<leg>`` with the broker, the input and output
topics and a ``ferry.yaml`` that declares the bench flow; it runs until SIGTERM.

- :mod:`.aiokafka_loop`: an aiokafka consume -> produce loop in batches, copying the bytes
  (``--copy``, the raw passthrough) or through ``FlowProcessor.process``.
- :mod:`.quix`: a quixstreams ``Application`` through ``FlowProcessor.process``.
"""
