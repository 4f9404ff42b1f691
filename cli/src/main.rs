//! `cloudsage`: run the whole pipeline (embedded or over Kafka/ClickHouse), ingest files,
//! apply migrations, create topics, generate the sample.

use cloudsage::{generate, ingest, run, templates};

use clap::{Parser, Subcommand};
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::Config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "cloudsage",
    version,
    about = "Logs in, operational risk out: score, forecast, alert."
)]
struct Cli {
    /// Configuration file (TOML). Also `CLOUDSAGE_CONFIG`; env `CLOUDSAGE_<SECTION>__<KEY>` overrides.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run all four stages on a log file and print the risk timeline, forecasts and alerts.
    /// Without `kafka.brokers` the stages run in this process over in-memory channels; with it,
    /// over Kafka (and ClickHouse when `clickhouse.url` is set).
    Run {
        /// Log file to run on (default: the bundled sample, deploy/sample/sample.log).
        file: Option<PathBuf>,
        /// Project the lines belong to.
        #[arg(long, default_value = "demo")]
        project: String,
        /// Service for lines that do not name one (`service=` field or JSON key).
        #[arg(long, default_value = "app")]
        service: String,
    },
    /// Stream a log file (or `-` for stdin) onto `logs.raw`.
    Ingest {
        file: PathBuf,
        #[arg(long, default_value = "default")]
        project: String,
        #[arg(long, default_value = "default")]
        service: String,
    },
    /// Apply ClickHouse migrations.
    Migrate,
    /// Kafka topic administration.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Write a synthetic sample log (the bundled sample is made by this command).
    Generate {
        /// Output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Minutes of logs.
        #[arg(long, default_value_t = 40)]
        minutes: u32,
    },
    /// Mine log templates: print `line_number<TAB>template_id<TAB>template` per input line
    /// (the template of the line's cluster after that line). FILE or `-` for stdin.
    Templates { file: PathBuf },
}

#[derive(Subcommand)]
enum TopicsAction {
    /// Create every topic CloudSage uses (idempotent).
    Create,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Templates { file } = &cli.command {
        // Offline, needs no configuration or logging setup.
        return templates::run(file);
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if matches!(cli.command, Command::Run { .. }) && config.log.filter == "info" {
        // `run` prints a report; keep diagnostics to warnings unless asked otherwise.
        config.log.filter = "warn".into();
    }
    init_logging(&config.log);
    match cli.command {
        Command::Run {
            file,
            project,
            service,
        } => {
            let file = file.unwrap_or_else(run::bundled_sample);
            run::run(&config, &file, &project, &service).await
        }
        Command::Ingest {
            file,
            project,
            service,
        } => ingest::ingest(&config, &file, &project, &service).await,
        Command::Migrate => {
            let w = cloudsage_runtime::warehouse::Warehouse::from_config(&config.clickhouse)
                .ok_or_else(|| {
                    anyhow::anyhow!("clickhouse.url is not set (CLOUDSAGE_CLICKHOUSE__URL)")
                })?;
            let applied = w.migrate().await?;
            println!(
                "migrations applied: {applied:?} (database {})",
                w.database()
            );
            Ok(())
        }
        Command::Topics {
            action: TopicsAction::Create,
        } => {
            let topics = cloudsage_schemas::topics::all_topics();
            cloudsage_runtime::kafka::ensure_topics(&config.kafka, &topics).await?;
            println!("topics ready: {}", topics.join(", "));
            Ok(())
        }
        Command::Generate { out, minutes } => generate::write_sample(out.as_deref(), minutes),
        Command::Templates { .. } => unreachable!("handled before the configuration is loaded"),
    }
}
