//! `scorer`: logs.raw → windows.scored + ClickHouse `risk_windows`.

use scorer::ScorerProcessor;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cloudsage_runtime::app::run_stage_binary(9201, |c| ScorerProcessor::new(&c.scorer)).await
}
