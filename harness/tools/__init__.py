"""Tools beside a run: doctor (checks a database and its drivers), the T-SQL each ORM sends
(tsql), and the harness's own cost per round (overhead)."""
