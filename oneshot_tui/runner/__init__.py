"""Starting, reading and stopping one process, and keeping every byte it writes."""
