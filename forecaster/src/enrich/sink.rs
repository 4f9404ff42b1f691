//! Where enriched forecasts go: the `forecasts` topic and ClickHouse, behind a trait so the
//! enrichment task runs without Kafka in tests.

use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::TableRow;
use cloudsage_schemas::topics::FORECASTS;
use cloudsage_schemas::{Forecast, Message as _};
use std::future::Future;

/// How far ahead of the wall clock an enriched ClickHouse row's version is set. The driver
/// writes the heuristic row of the same forecast with the wall clock at its write, which
/// may come after the model answered (a slow batch, ClickHouse retries): the lead keeps the
/// enriched row the one `ReplacingMergeTree` keeps, as long as the heuristic write lands
/// within this long of the enrichment.
pub const VERSION_LEAD_MS: u64 = 3_600_000;

/// Publishes one enriched forecast.
pub trait EnrichedSink: Send + Sync + 'static {
    fn publish(&self, forecast: &Forecast) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The stage's own outputs: the `forecasts` topic (keyed `project/service`, like the
/// processor's) and, when configured, the `forecasts` table.
pub struct PipelineSink<S> {
    pub sink: S,
    pub warehouse: Option<Warehouse>,
}

impl<S: Sink + 'static> EnrichedSink for PipelineSink<S> {
    async fn publish(&self, f: &Forecast) -> anyhow::Result<()> {
        self.sink
            .send(vec![OutRecord {
                topic: FORECASTS.to_string(),
                key: format!("{}/{}", f.project, f.service).into_bytes(),
                payload: f.encode(),
            }])
            .await?;
        if let Some(w) = &self.warehouse {
            let version = cloudsage_runtime::driver::now_ms().max(0) as u64 + VERSION_LEAD_MS;
            w.write(&[TableRow::Forecast(f.clone())], version).await?;
        }
        Ok(())
    }
}
