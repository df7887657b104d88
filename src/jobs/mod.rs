//! Background work: the transactional outbox in the database and the worker every instance runs.
//! (Being built: issue 11.)
