//! Data subject requests: exports of a guest's data and four-eyes erasure
//! requests.

pub mod erasure;
pub mod export;
