//! `forecaster`: windows.scored → forecasts + ClickHouse `forecasts`.

use forecaster::ForecasterProcessor;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cloudsage_runtime::app::run_stage_binary(9202, |c| Ok(ForecasterProcessor::new(&c.forecaster)))
        .await
}
