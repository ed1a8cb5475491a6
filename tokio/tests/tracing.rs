//! Tracing: each call's span and its fields. Its own test binary: tracing caches
//! per call site whether anyone is interested, and tests running in parallel
//! threads without a subscriber would race with the scoped one set here.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::Model;
use memcache_codec_tokio::Client;

/// Records every `memcache.command` span's fields.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<HashMap<String, String>>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        values.record(&mut Fields(
            extensions.get_mut::<HashMap<String, String>>().unwrap(),
        ));
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let span = ctx.span(&id).unwrap();
        if let Some(fields) = span.extensions_mut().remove::<HashMap<String, String>>() {
            self.0.lock().unwrap().push(fields);
        }
    }
}

#[tokio::test]
async fn each_call_has_a_span_with_command_keys_hit_and_latency() {
    use tracing_subscriber::layer::SubscriberExt;
    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    client.set("a", "1").await.unwrap();
    client.get("a").await.unwrap();
    client.get("b").await.unwrap();
    client.get_multi(&["a", "b", "c"]).await.unwrap();
    let _ = client.get("bad key").await;
    let spans = spans.0.lock().unwrap().clone();
    let view: Vec<_> = spans
        .iter()
        .map(|s| {
            let get = |k: &str| s.get(k).cloned().unwrap_or_default();
            (
                get("command"),
                get("keys"),
                get("outcome"),
                get("hit"),
                get("hits"),
            )
        })
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        view,
        [
            (s("\"set\""), s("1"), s("\"ok\""), s(""), s("")),
            (s("\"get\""), s("1"), s("\"ok\""), s("true"), s("")),
            (s("\"get\""), s("1"), s("\"ok\""), s("false"), s("")),
            (s("\"get_multi\""), s("3"), s("\"ok\""), s(""), s("1")),
            (s("\"get\""), s("1"), s("\"refused\""), s(""), s("")),
        ]
    );
    assert!(spans.iter().all(|s| s["latency_us"].parse::<u64>().is_ok()));
}
