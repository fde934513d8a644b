"""The harness's library: what the commands (experiment, loop, gate, ...) are built from."""
