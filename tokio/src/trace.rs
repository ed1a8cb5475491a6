//! One `tracing` span per call: `memcache.command` at DEBUG level, with the
//! command's name, its key count and server, and, once it completes, the outcome,
//! hit or miss (or the hit count of a multi-key get) and the latency in
//! microseconds. Without a subscriber that enables it, a span is one check of a
//! cached flag and the clock is never read.

use std::time::Instant;

use memcache_codec::Response;
use memcache_codec::response::MetaStatus;
use tracing::Span;
use tracing::field::Empty;

use crate::error::Error;

/// A call's span and its start time (only taken when the span is enabled).
#[derive(Debug)]
pub(crate) struct Trace {
    span: Span,
    start: Option<Instant>,
}

impl Trace {
    /// Starts the span of a call of `command` with `keys` keys (0: not counted).
    pub(crate) fn start(command: &'static str, keys: usize) -> Self {
        let span = tracing::debug_span!(
            "memcache.command",
            command,
            keys = Empty,
            server = Empty,
            outcome = Empty,
            hit = Empty,
            hits = Empty,
            latency_us = Empty,
        );
        if span.is_disabled() {
            return Self { span, start: None };
        }
        if keys > 0 {
            span.record("keys", keys);
        }
        Self {
            span,
            start: Some(Instant::now()),
        }
    }

    /// Records the server the call went to.
    pub(crate) fn server(&self, server: usize) {
        if self.start.is_some() {
            self.span.record("server", server);
        }
    }

    /// Records the outcome and latency of a call that got `result`.
    pub(crate) fn finish(&self, result: &Result<Response, Error>) {
        let Some(start) = self.start else {
            return;
        };
        let (outcome, hit, hits) = match result {
            Ok(Response::Hit(_)) => ("ok", Some(true), None),
            Ok(Response::Miss) => ("ok", Some(false), None),
            Ok(Response::Items(values)) => ("ok", None, Some(values.len())),
            Ok(Response::Meta(meta)) if meta.status == MetaStatus::Miss => {
                ("ok", Some(false), None)
            }
            Ok(Response::Meta(meta)) if meta.status == MetaStatus::Value => {
                ("ok", Some(true), None)
            }
            Ok(_) => ("ok", None, None),
            Err(Error::Server(_)) => ("server_error", None, None),
            Err(e) if e.is_connection() => ("connection_error", None, None),
            Err(_) => ("refused", None, None),
        };
        self.span.record("outcome", outcome);
        if let Some(hit) = hit {
            self.span.record("hit", hit);
        }
        if let Some(hits) = hits {
            self.span.record("hits", hits);
        }
        self.latency(start);
    }

    /// Records the outcome of a batch: `hits` of `keys`.
    pub(crate) fn finish_batch(&self, hits: Option<usize>) {
        let Some(start) = self.start else {
            return;
        };
        match hits {
            Some(hits) => {
                self.span.record("outcome", "ok");
                self.span.record("hits", hits);
            }
            None => {
                self.span.record("outcome", "error");
            }
        }
        self.latency(start);
    }

    fn latency(&self, start: Instant) {
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.span.record("latency_us", micros);
    }
}
