//! `cloudsage`: run the whole pipeline (embedded or over Kafka/ClickHouse), ingest files,
//! apply migrations, create topics, generate the sample.

use cloudsage::{export, risk};
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
        /// Keep reading lines appended to FILE, across rotation, until SIGINT/SIGTERM.
        #[arg(long)]
        follow: bool,
        /// With `--follow`: send the lines already in FILE first (default: start at its end).
        #[arg(long, requires = "follow")]
        from_beginning: bool,
    },
    /// Apply ClickHouse migrations.
    Migrate,
    /// The scorer end to end on the configured broker (and ClickHouse): lines/s, latency
    /// from a line's acknowledgement to its window on `windows.scored`, peak RSS.
    Bench {
        /// Lines to push through.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// Services the lines are spread over.
        #[arg(long, default_value_t = 100)]
        series: u64,
        /// Lines of one service per Kafka record (newline-delimited JSON); 1 sends a record
        /// per line, the way most log shippers do by default.
        #[arg(long, default_value_t = 100)]
        lines_per_record: u64,
    },
    /// The four stage binaries (next to this executable) as separate processes on the
    /// configured broker and ClickHouse, fed at a fixed rate: sustained lines/s, consumer lag
    /// over time, ack → window and ack → notification latency (p50/p99), peak RSS per stage.
    Soak {
        /// Lines per second to post to the ingestor.
        #[arg(long, default_value_t = 20_000)]
        rate: u64,
        /// How long to produce, e.g. `60s`.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Services the lines are spread over (one incident scenario each).
        #[arg(long, default_value_t = 100)]
        series: u64,
    },
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
        /// A named incident scenario (one `checkout` service) instead of the shop sample.
        #[arg(long, value_enum)]
        scenario: Option<cloudsage::scenarios::Scenario>,
        /// Seed of a scenario's randomness.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Mine log templates: print `line_number<TAB>template_id<TAB>template` per input line
    /// (the template of the line's cluster after that line). FILE or `-` for stdin.
    Templates {
        file: PathBuf,
        /// Threads that parse and mask lines ahead of the one miner (0: one per core).
        /// The output is the same for every value; 1 runs everything on one thread.
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Streaming anomaly detection over one metric series: reads NAB-style CSV
    /// (`timestamp,value`), writes `timestamp,value,anomaly_score,detected`. Bad rows are
    /// reported on stderr with their line number and skipped (exit status 1 at the end),
    /// or fail at once with `--strict`.
    Detect {
        /// Input CSV, or `-` for stdin.
        #[arg(long)]
        csv: PathBuf,
        /// Output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Fail at the first bad row instead of skipping it.
        #[arg(long)]
        strict: bool,
    },
    /// Risk per service of a project, from ClickHouse: latest score, 7-day rolling average,
    /// trend (score points per hour, least squares over the range) and a sparkline. The range
    /// ends at the project's newest window.
    Risk {
        project: String,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Length of the range, e.g. `24h`, `90min`, `7d`.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        since: std::time::Duration,
    },
    /// Write a project's window history from ClickHouse as CSV (header row, one row per window).
    Export {
        project: String,
        /// Only the windows in this span before the newest one (default: all), e.g. `7d`.
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
        /// Output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A project's feedback on proposed actions, from ClickHouse, oldest first, and what the
    /// forecaster learned from it (the score of each action kind, the ignore rules).
    Feedback {
        project: String,
        /// Only feedback received in this span before now, e.g. `7d` (default: all).
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
    },
    /// The latest forecast of each service of a project, from ClickHouse: predicted score,
    /// interval, confidence and why, the reasoning chain (with the backtest's error) and the
    /// proposed actions.
    Forecast {
        project: String,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
    },
    /// A project's notification history from ClickHouse, newest first: when, which alert,
    /// which receiver, the result (delivered, failed, silenced, unrouted) and the attempts.
    Alerts {
        project: String,
        /// How far back, e.g. `24h`, `7d`.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        since: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum TopicsAction {
    /// Create every topic CloudSage uses (idempotent).
    Create,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Templates { file, threads } = &cli.command {
        // Offline, needs no configuration or logging setup.
        return templates::run(file, *threads);
    }
    if let Command::Detect { csv, out, strict } = &cli.command {
        // Offline, needs no configuration or logging setup.
        return cloudsage::detect::run(csv, out.as_deref(), *strict);
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
            follow: true,
            from_beginning,
        } => ingest::follow(&config, &file, &project, &service, from_beginning).await,
        Command::Ingest {
            file,
            project,
            service,
            ..
        } => ingest::ingest(&config, &file, &project, &service).await,
        Command::Bench {
            lines,
            series,
            lines_per_record,
        } => cloudsage::bench::bench(&config, lines, series, lines_per_record).await,
        Command::Soak {
            rate,
            duration,
            series,
        } => {
            let opts = cloudsage::soak::SoakOptions {
                rate,
                duration,
                series,
                config_file: cli.config.clone(),
            };
            cloudsage::soak::soak(&config, opts).await
        }
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
        Command::Generate {
            out,
            minutes,
            scenario,
            seed,
        } => generate::write_sample(out.as_deref(), minutes, scenario, seed),
        Command::Risk {
            project,
            service,
            since,
        } => risk::run(&config, &project, service.as_deref(), since).await,
        Command::Export {
            project,
            since,
            out,
        } => export::run(&config, &project, since, out.as_deref())
            .await
            .map(|_| ()),
        Command::Feedback { project, since } => {
            cloudsage::feedback::run(&config, &project, since).await
        }
        Command::Forecast { project, service } => {
            cloudsage::forecast_cmd::run(&config, &project, service.as_deref()).await
        }
        Command::Alerts { project, since } => {
            cloudsage::alerts::run(&config, &project, since).await
        }
        Command::Templates { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Detect { .. } => unreachable!("handled before the configuration is loaded"),
    }
}
