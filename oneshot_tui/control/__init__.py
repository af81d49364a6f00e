"""A live run's control socket, as its clients see it: the protocol (docs/protocol.md) and a
client. The server is `orchestrator/control_server.py`; this package imports only `core`, so the
TUI, the command line and the MCP server can all use it."""
