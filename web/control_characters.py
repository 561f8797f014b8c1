"""The characters no text Panel stores may hold: C0 controls but tab, line feed and carriage return; DEL; C1.

A NUL makes PostgreSQL refuse the whole statement, and the others have no place in a name, a comment or an
imported record either. One pattern for the request guard (web/input_guard.py) and the import validator
(web/records/values.py), so a form and a file refuse the same characters.
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
