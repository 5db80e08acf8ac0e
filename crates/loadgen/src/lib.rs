//! The far end of the wire: the echo load generator and the delay server, identical for every model
