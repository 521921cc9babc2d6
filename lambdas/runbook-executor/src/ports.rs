//! Boxed futures for the traits that stand between the step logic and AWS, so the steps can be
//! unit-tested with in-memory implementations and run in production over the SDK clients.

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
