"""Names of `-c` tasks: `NAME=command`, or a name made from the command's first words.

`-c 'make test' -c 'make lint' -c 'cd sub && make'` are named `make-test`, `make-lint` and
`cd-sub-make` (not `make`, `make-2`, `cd`): a person can tell them apart.

`-c 'NAME=COMMAND'` names the task NAME when NAME is lowercase letters, digits, `.`, `_` and `-`
(starting with a letter or digit) and COMMAND is not empty. Anything else is a shell command run
as written: `FOO=1 make` (an uppercase variable for `make`) stays a command. A lowercase variable
prefix (`foo=1 make`) would be read as a name: write it `env foo=1 make`, or name the task
(`build=foo=1 make`).
"""

from __future__ import annotations

import os
import re
import shlex

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
"""What `NAME=` on `-c` must look like to be a task's name (see the module's docstring)."""
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PLAIN = re.compile(r"^[A-Za-z0-9._/-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._]+")
WORDS = 3
"""Words of the command in its name."""
LONGEST = 24
"""A name made from a command is at most this long (cut at a word)."""


def split_named(arg: str) -> tuple[str | None, str]:
    """`(name, command)` of a `-c` argument: a name only for `NAME=COMMAND` as the rule says."""
    name, equals, command = arg.partition("=")
    if equals and TASK_NAME.match(name) and command.strip():
        return name, command
    return None, arg


def name_from_command(command: str) -> str:
    """`make test` -> `make-test`; `cd sub && make` -> `cd-sub-make`; `FOO=1 ./run.sh -v x` ->
    `run.sh-x`: the program without its directory, then its words, skipping variable
    assignments, options and the shell's operators."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: the shell will say so; a name is still needed
        tokens = command.split()
    words: list[str] = []
    program = True  # the next word starts a command (after `&&`, `|`, `;`, ...)
    for token in tokens:
        if not token or all(c in "();<>|&" for c in token):
            program = True
            continue
        if program and _ASSIGNMENT.match(token):
            continue
        if token.startswith("-"):
            continue
        if not program and not _PLAIN.match(token):
            continue  # quoted text, `$VAR`, escapes: noise in a name (`printf 'a\\n'`: printf)
        word = os.path.basename(token.rstrip("/")) if program else token
        program = False
        word = _UNSAFE.sub("-", word).strip("-.")
        if word:
            words.append(word)
        if len(words) == WORDS:
            break
    name = ""
    for word in words:
        longer = f"{name}-{word}" if name else word
        if name and len(longer) > LONGEST:
            break
        name = longer[:LONGEST]
    return name or "task"
