"""What a run measures against: database URLs and what each database is (urls), the one
connection policy every backend gets (connection), the harness's own tables and their data
(database), and the errors a user is shown (errors)."""
