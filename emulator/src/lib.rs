//! The ECS + ALB emulator (placeholder until its issue lands).
