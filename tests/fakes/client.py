"""Connects to the port in PORT_FILE and prints what the server says (fails if nobody listens).
Usage: client.py PORT_FILE"""

import socket
import sys
from pathlib import Path

port = int(Path(sys.argv[1]).read_text())
with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
    print(conn.makefile().readline().strip(), flush=True)
