"""Scheduled captures (SPEC section 16): a cron expression in a time zone, one capture per
due time whatever the number of API instances."""
