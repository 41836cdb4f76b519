"""Domain rules as plain functions over a session and values: testable without HTTP."""
