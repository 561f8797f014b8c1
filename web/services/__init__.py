"""Named operations on the database: each takes the acting user (``actor=``) and records an audit event."""
