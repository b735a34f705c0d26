"""Model preparation: finding the model directory to serve and importing the embedded GGUF into one.

It runs in whichever process is asked for a model first (`swiftctl launch`, `LLM(...)`, a worker), so
nothing here imports torch: the controller process never loads it."""
