"""A real TCP server that takes its time: after DELAY seconds it listens on a free port, writes
the port to PORT_FILE, prints "listening on PORT", answers one client with "hello from the
server" and exits 0. Usage: slow_server.py DELAY PORT_FILE"""

import socket
import sys
import time
from pathlib import Path

delay, port_file = float(sys.argv[1]), Path(sys.argv[2])
print("starting up", flush=True)
time.sleep(delay)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]
port_file.write_text(str(port))
print(f"listening on {port}", flush=True)
client, _ = server.accept()
client.sendall(b"hello from the server\n")
client.close()
server.close()
