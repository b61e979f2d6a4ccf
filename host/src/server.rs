//! Serving the API over a socket, and the background work beside it.
//!
//! Connections are HTTP/1.1 served by hyper with a header read timeout that also closes idle
//! keep-alive connections (a slowloris client that trickles its headers, or one that opens a
//! connection and never speaks, is cut off); the API's own layers (`api::app`) bound each
//! request's body, duration and panics. Each kind of background work runs on a task of its
//! own, so one that is slow never holds up another (reservations expire whatever the
//! webhooks or recurring orders do). Shutdown (ctrl-c or SIGTERM) stops accepting, lets the
//! requests in flight finish for at most `shutdown_grace_secs`, and returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::task::JoinSet;

use crate::service::Service;
use crate::store::Work;

/// Serves `service` on `listener` until ctrl-c or SIGTERM.
pub async fn serve(service: Arc<Service>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(service, listener, shutdown_signal()).await
}

/// Serves `service` on `listener` until `stop` resolves; then stops within the grace period.
/// Fails at once if another process serves the same store (`Service::hold_store_exclusively`).
pub async fn serve_until(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    if !service.config().shared {
        service.hold_store_exclusively().await.map_err(std::io::Error::other)?;
    }
    let mut background = spawn_background(&service);
    let app = crate::api::app(Arc::clone(&service));
    let header_timeout = Duration::from_secs(service.config().header_read_timeout_secs.max(1));
    let grace = Duration::from_secs(service.config().shutdown_grace_secs);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
                let watched = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = watched.await {
                        tracing::debug!(%error, "connection closed");
                    }
                });
            }
            // Reap finished connections as they go.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
    drop(listener);
    background.abort_all();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(open = connections.len(), "connections still open after the grace period; closing them");
        }
    }
    connections.abort_all();
    Ok(())
}

// Each kind of background work on its own task, at its own pace.
fn spawn_background(service: &Arc<Service>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(Arc::clone(service).run_deliveries());
    let every_second = |work: Option<Work>, job: fn(Arc<Service>) -> BoxedJob| {
        let service = Arc::clone(service);
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Some(work) = work
                    && !service.claim(work).await
                {
                    continue;
                }
                job(Arc::clone(&service)).await;
            }
        }
    };
    if service.config().shared {
        let following = Arc::clone(service);
        tasks.spawn(async move { following.follow_changes().await });
    }
    tasks.spawn(every_second(None, |s| {
        Box::pin(async move {
            let shifted = s.refresh_time_zones().await;
            if shifted > 0 {
                tracing::info!(locations = shifted, "UTC offsets changed (daylight saving)");
            }
        })
    }));
    tasks.spawn(every_second(None, |s| {
        Box::pin(async move {
            s.forget_passed_due_times();
            let evicted = s.evict_closed_orders();
            if evicted > 0 {
                tracing::debug!(evicted, "closed orders let go of (read from the store when asked for)");
            }
        })
    }));
    tasks.spawn(every_second(Some(Work::Expiry), |s| {
        Box::pin(async move {
            let expired = s.expire_due().await;
            if expired > 0 {
                tracing::info!(expired, "reservations expired");
            }
        })
    }));
    tasks.spawn(every_second(Some(Work::Scheduled), |s| {
        Box::pin(async move {
            let routed = s.route_due().await;
            if routed > 0 {
                tracing::info!(routed, "scheduled orders routed");
            }
        })
    }));
    tasks.spawn(every_second(Some(Work::AtpFeed), |s| {
        Box::pin(async move {
            if let Err(error) = s.publish_atp_changes().await {
                tracing::warn!(%error, "ATP changes not published; retried");
            }
        })
    }));
    let config = service.config();
    // Release windows come from the cool-down or from locations' waves, which may be set at any
    // time: passes run whenever they are scheduled (one over an empty pool costs nothing).
    if config.reoptimize_every_secs > 0 {
        let service = Arc::clone(service);
        let every = Duration::from_secs(config.reoptimize_every_secs);
        let full_every = (switchyard_engine::reoptimize::FULL_PASS_EVERY_SECS.unsigned_abs()
            / config.reoptimize_every_secs.max(1))
        .max(1);
        tasks.spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Passes try the moves of new and changed orders; one an hour tries every order's.
            let mut passes: u64 = 0;
            loop {
                tick.tick().await;
                if !service.claim(Work::Reoptimize).await {
                    continue;
                }
                passes += 1;
                match service.reoptimize(passes.is_multiple_of(full_every)).await {
                    Ok(report) if !report.applied => {
                        tracing::debug!("a re-optimisation pass found the orders or stock moved; tried next time")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "a re-optimisation pass failed; tried next time"),
                }
            }
        });
    }
    if config.look_ahead_every_secs > 0 {
        // Every instance solves its own prices (they live beside its compiled versions); the
        // first solve soon after start, so a restarted instance prices stock again at once.
        let service = Arc::clone(service);
        let every = Duration::from_secs(config.look_ahead_every_secs);
        tasks.spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match service.solve_look_ahead().await {
                    Ok(report) if !report.versions.is_empty() => tracing::debug!(
                        versions = report.versions.len(),
                        priced = report.versions.iter().map(|v| v.priced).sum::<usize>(),
                        "look-ahead prices solved"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "a look-ahead solve failed; tried next time"),
                }
            }
        });
    }
    tasks.spawn(every_second(Some(Work::Recurring), |s| {
        Box::pin(async move {
            let created = s.run_recurring().await;
            if created > 0 {
                tracing::info!(created, "recurring orders created");
            }
        })
    }));
    tasks
}

type BoxedJob = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
