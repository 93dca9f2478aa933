"""Event-driven discovery (issue 12): S3 event notifications read from an SQS queue, routed to the
streams whose selection holds the object, registered in the ledger; a slower reconciling listing
catches what a lost notification missed and objects that are gone.

- `messages`: an SQS message body -> object events (S3 notification, SNS-wrapped, EventBridge);
- `queue`: the SQS client (receive with a short long-poll, delete by receipt);
- `store`: the ledger tables of events (receipts awaiting deletion, dead letters, removals);
- `route`: events and listings -> ledger rows and the partitions / snapshots to run;
- `removals`: `on_remove` of a stream applied to what a removed object loaded.
Nothing here knows Dagster.
"""
