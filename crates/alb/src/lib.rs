//! The Application Load Balancer (placeholder until its issue lands).
