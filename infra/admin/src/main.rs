//! `tidings-admin`: the ops command. It talks to the environment the standard AWS configuration
//! points at (profile, region, `AWS_ENDPOINT_URL`), so the same command works locally and in AWS.
//! Results go to stdout as JSON; errors to stderr with a non-zero exit.

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::process::ExitCode;
use tidings_app::config::Config;
use tidings_app::services::clinics::Assignment;
use tidings_app::services::{self, api_keys, clinics, credits, day_counts};
use tidings_app::{App, ServiceError};
use tidings_domain::FieldError;
use tidings_domain::api_key::Role;
use tidings_domain::clinic::{ClinicInput, parse_identity};

#[derive(Parser)]
#[command(name = "tidings-admin", about = "Manage Tidings clinics and API keys")]
struct Cli {
    /// The Tidings table (the `TableName` output of the stack).
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clinics.
    #[command(subcommand)]
    Clinic(ClinicCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Credit balances.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// The day counters statistics read.
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Notifications.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// Uploaded lists.
    #[command(subcommand)]
    Uploads(UploadsCommand),
    /// Appointments.
    #[command(subcommand)]
    Appointments(AppointmentsCommand),
    /// Campaign runs.
    #[command(subcommand)]
    Runs(RunsCommand),
}

#[derive(Subcommand)]
enum RunsCommand {
    /// Index the campaign runs still sending or paused, so that erasing a patient reads those
    /// rather than every run the clinic had: once, for clinics created before the index.
    Index {
        /// One clinic; every clinic without it.
        #[arg(long)]
        clinic: Option<String>,
    },
}

#[derive(Subcommand)]
enum AppointmentsCommand {
    /// Index the appointments by patient, so that a recall report's page looks up its own
    /// patients rather than reading the clinic's book since the cutoff: once, for clinics
    /// created before the index.
    Index {
        /// One clinic; every clinic without it.
        #[arg(long)]
        clinic: Option<String>,
    },
}

#[derive(Subcommand)]
enum UploadsCommand {
    /// Reference the stored rows of uploaded lists by who they name, so that erasing a patient
    /// reads the rows that name them rather than every upload: once, for clinics created
    /// before the references.
    Index {
        /// One clinic; every clinic without it.
        #[arg(long)]
        clinic: Option<String>,
    },
}

#[derive(Subcommand)]
enum NotificationsCommand {
    /// Index the notifications about patients by patient, so that erasing a patient reads
    /// theirs rather than all of the clinic's: once, for clinics created before the index.
    Index {
        /// One clinic; every clinic without it.
        #[arg(long)]
        clinic: Option<String>,
    },
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Count days again from the messages and the ledger, replacing their counters: after the
    /// first deploy of count-stats (the days before it), or after a lost stream batch.
    Recount {
        /// One clinic; every clinic without it.
        #[arg(long)]
        clinic: Option<String>,
        /// The first day (YYYY-MM-DD, the clinic's time zone); by default 365 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// The last day; by default the clinic's today.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
enum CreditsCommand {
    /// Add credits to a clinic's group account, or to a practitioner's own account (recorded
    /// in its ledger).
    Add {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        credits: i64,
        /// `group` or `practitioner:<practitioner id>` (an open account).
        #[arg(long, default_value = "group")]
        account: String,
        /// Why, e.g. an invoice number.
        #[arg(long)]
        note: Option<String>,
    },
    /// Show a clinic's balance.
    Show {
        #[arg(long)]
        clinic: String,
    },
}

#[derive(Subcommand)]
enum ClinicCommand {
    /// Create a clinic.
    Create {
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Australia/Sydney.
        #[arg(long)]
        time_zone: String,
        /// ISO 3166 country for patients' national phone numbers, e.g. AU.
        #[arg(long)]
        country: String,
        /// SMS sender id: 2 to 11 letters and digits, not all digits.
        #[arg(long)]
        sms_sender_id: String,
        /// The address email is sent from: inside the identity below.
        #[arg(long)]
        email_sender: String,
        /// The SES identity (a verified domain or address) the clinic sends as; by default the
        /// domain of --email-sender. It must exist in SES.
        #[arg(long)]
        email_identity: Option<String>,
    },
    /// List every clinic.
    List,
    /// Give a clinic a number its patients' replies arrive at (E.164); it routes to this
    /// clinic alone.
    AssignNumber {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        number: String,
    },
    /// Stop routing a number to the clinic.
    ReleaseNumber {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        number: String,
    },
    /// Let a clinic send email as an SES identity (a domain or an address that exists in SES).
    AssignIdentity {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        identity: String,
    },
    /// Take an identity back (refused while the clinic's email_sender is inside it alone).
    ReleaseIdentity {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        identity: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a key; it is printed once and only its hash is kept.
    Create {
        #[arg(long)]
        clinic: String,
        #[arg(long, value_enum, default_value = "staff")]
        role: RoleArg,
        /// What the key is for, e.g. "front desk".
        #[arg(long)]
        label: String,
    },
    /// List a clinic's keys (never the keys themselves).
    List {
        #[arg(long)]
        clinic: String,
    },
    /// Revoke a key at once.
    Revoke {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Staff,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let app = App::from_env(&Config {
        table_name: cli.table,
        stage: "admin".into(),
        email_credit_cost: 0,
        scheduling: None,
        campaigns: Default::default(),
        public_url: None,
        webhooks: None,
        ses_configuration_set: None,
        ses_identity_arn_prefix: None,
        unsubscribe: None,
        prices: Vec::new(),
        stripe: None,
        send_lease_secs: 900,
        aws_call_log: None,
        endpoint_reach: Default::default(),
        webhook_delivery_queue_url: None,
        sweep_queue_url: None,
        sweep_retry_secs: 60,
        export_reads: 20,
        audience_reads: 20,
    })
    .await;
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&app, cli.command).await {
        Ok(out) => {
            println!("{out:#}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e {
                ServiceError::Invalid(f) => eprintln!("error: {}: {}", f.field, f.message),
                other => eprintln!(
                    "error: {other}: {}",
                    std::error::Error::source(&other)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ),
            }
            ExitCode::FAILURE
        }
    }
}

/// A `--from`/`--to` date.
fn date(field: &str, v: Option<String>) -> Result<Option<chrono::NaiveDate>, ServiceError> {
    v.map(|d| {
        d.parse().map_err(|_| {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be a date like 2026-11-24"),
            )
            .into()
        })
    })
    .transpose()
}

/// The identity, read and checked to exist in SES (this account and region).
async fn existing_identity(app: &App, identity: &str) -> Result<String, ServiceError> {
    let identity = parse_identity("identity", identity)?;
    let exists = app.delivery.identity_exists(&identity).await.map_err(|e| {
        ServiceError::from(FieldError::new(
            "identity",
            "unchecked",
            format!("SES could not be asked about the identity: {e}"),
        ))
    })?;
    if exists {
        Ok(identity)
    } else {
        Err(FieldError::new(
            "identity",
            "not_in_ses",
            format!("{identity} is not an identity in SES here: create and verify it first"),
        )
        .into())
    }
}

/// Runs `each` on the clinic named, or on every clinic: how many clinics, and the sums of the
/// two counts each returned (what it read and what it wrote).
async fn for_each_clinic<E>(
    store: &tidings_app::store::Store,
    clinic: Option<String>,
    each: impl AsyncFn(&str) -> Result<(usize, usize), E>,
) -> Result<(usize, (usize, usize)), ServiceError>
where
    ServiceError: From<E>,
{
    let clinics = match clinic {
        Some(c) => vec![c],
        None => store.list_clinic_ids().await?,
    };
    let mut sums = (0, 0);
    for c in &clinics {
        let (read, wrote) = each(c).await?;
        sums = (sums.0 + read, sums.1 + wrote);
    }
    Ok((clinics.len(), sums))
}

async fn run(app: &App, command: Command) -> Result<serde_json::Value, ServiceError> {
    let store = &app.store;
    Ok(match command {
        Command::Clinic(ClinicCommand::Create {
            name,
            time_zone,
            country,
            sms_sender_id,
            email_sender,
            email_identity,
        }) => {
            let identity = email_identity.unwrap_or_else(|| {
                email_sender
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_owned())
                    .unwrap_or_default()
            });
            let input = ClinicInput {
                name: Some(name),
                time_zone: Some(time_zone),
                country: Some(country),
                sms_sender_id: Some(sms_sender_id),
                email_sender: Some(email_sender),
                ..Default::default()
            };
            // The settings first, so a typo is named before SES is asked anything.
            input.clone().validate()?;
            let identity = existing_identity(app, &identity).await?;
            json!(clinics::create(store, input, &[identity]).await?)
        }
        Command::Clinic(ClinicCommand::List) => {
            let (clinics, unreadable) = store.list_clinics().await?;
            for (id, e) in &unreadable {
                let why = std::error::Error::source(e).map(|s| s.to_string());
                eprintln!(
                    "warning: clinic {id}: its stored record does not read: {e}: {}",
                    why.unwrap_or_default()
                );
            }
            json!(clinics)
        }
        Command::Clinic(ClinicCommand::AssignNumber { clinic, number }) => {
            json!(clinics::assign(store, &clinic, Assignment::AssignNumber(number)).await?)
        }
        Command::Clinic(ClinicCommand::ReleaseNumber { clinic, number }) => {
            json!(clinics::assign(store, &clinic, Assignment::ReleaseNumber(number)).await?)
        }
        Command::Clinic(ClinicCommand::AssignIdentity { clinic, identity }) => {
            let identity = existing_identity(app, &identity).await?;
            json!(clinics::assign(store, &clinic, Assignment::AssignIdentity(identity)).await?)
        }
        Command::Clinic(ClinicCommand::ReleaseIdentity { clinic, identity }) => {
            json!(clinics::assign(store, &clinic, Assignment::ReleaseIdentity(identity)).await?)
        }
        Command::Credits(CreditsCommand::Add {
            clinic,
            credits,
            account,
            note,
        }) => {
            let entry = credits::grant_to(store, &clinic, &account, credits, note).await?;
            let balance = store.credit_balance(&clinic, &entry.account).await?;
            json!({"entry": entry, "balance": balance})
        }
        Command::Credits(CreditsCommand::Show { clinic }) => {
            json!(credits::summary(app, &clinic).await?)
        }
        Command::Key(KeyCommand::Create {
            clinic,
            role,
            label,
        }) => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Staff => Role::Staff,
            };
            let issued = api_keys::issue(store, &clinic, role, &label).await?;
            json!({"key": issued.key, "key_id": issued.record.key_id, "clinic_id": clinic, "role": issued.record.role, "label": issued.record.label})
        }
        Command::Key(KeyCommand::List { clinic }) => {
            let keys = store.list_api_keys(&clinic).await?;
            json!(keys.iter().map(|k| json!({"key_id": k.key_id, "role": k.role, "label": k.label, "created_at": k.created_at, "revoked_at": k.revoked_at})).collect::<Vec<_>>())
        }
        Command::Stats(StatsCommand::Recount { clinic, from, to }) => {
            let clinics = match clinic {
                Some(c) => vec![c],
                None => store.list_clinic_ids().await?,
            };
            let (from, to) = (date("from", from)?, date("to", to)?);
            let mut days = 0;
            for c in &clinics {
                let clinic = services::load_clinic(store, c).await?;
                let to = to.unwrap_or_else(|| services::clinic_today(&clinic, app.now()));
                let from = from.unwrap_or_else(|| to - chrono::Days::new(365));
                days += day_counts::recount(store, c, from, to).await?;
            }
            json!({"clinics": clinics.len(), "days": days})
        }
        Command::Notifications(NotificationsCommand::Index { clinic }) => {
            let (n, (read, indexed)) =
                for_each_clinic(store, clinic, async |c| store.index_notifications(c).await)
                    .await?;
            json!({"clinics": n, "notifications": read, "indexed": indexed})
        }
        Command::Appointments(AppointmentsCommand::Index { clinic }) => {
            let (n, (read, indexed)) =
                for_each_clinic(store, clinic, async |c| store.index_appointments(c).await).await?;
            json!({"clinics": n, "appointments": read, "indexed": indexed})
        }
        Command::Runs(RunsCommand::Index { clinic }) => {
            let (n, (read, indexed)) =
                for_each_clinic(store, clinic, async |c| store.index_runs(c).await).await?;
            json!({"clinics": n, "unfinished_runs": read, "indexed": indexed})
        }
        Command::Uploads(UploadsCommand::Index { clinic }) => {
            let (n, (chunks, references)) = for_each_clinic(store, clinic, async |c| {
                let clinic = services::load_clinic(store, c).await?;
                Ok::<_, ServiceError>(
                    store
                        .index_uploads(c, clinic.fields.default_country()?)
                        .await?,
                )
            })
            .await?;
            json!({"clinics": n, "chunks": chunks, "references": references})
        }
        Command::Key(KeyCommand::Revoke { clinic, key_id }) => {
            api_keys::revoke(store, &clinic, &key_id).await?;
            json!({"revoked": key_id})
        }
    })
}
