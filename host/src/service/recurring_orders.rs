//! Recurring orders: created from a template each time they are due.

use super::*;

impl Service {
    /// Creates a recurring order: its first order is created at `start_at` (default now).
    pub async fn add_recurring(
        &self,
        id: &str,
        every: &str,
        start_at: Option<&str>,
        mut template: OrderRequest,
    ) -> Result<RecurringOrder, ApiError> {
        if id.is_empty() || id.len() > 128 {
            return Err(ApiError::invalid("invalid_field", "the id must be 1-128 characters").at("id"));
        }
        Interval::parse(every)?;
        let at = now();
        let start = match start_at {
            Some(text) => Timestamp::parse_rfc3339(text)
                .map_err(|e| ApiError::invalid("invalid_field", e.to_string()).at("start_at"))?,
            None => at,
        };
        template.id = format!("{id}-template");
        template.placed_at = None;
        template.to_engine(&self.catalog(), at).map_err(|e| prefix(e, "order"))?;
        let recurring = RecurringOrder {
            id: id.to_owned(),
            every: every.to_owned(),
            template,
            next_at: start.to_string(),
            active: true,
            orders: Vec::new(),
            history: vec![event(at, "created", format!("every {every}, first at {start}"))],
        };
        match self.recurring.entry(id.to_owned()) {
            Entry::Occupied(_) => Err(ApiError::conflict("recurring_exists", format!("recurring order `{id}` exists"))),
            Entry::Vacant(vacant) => {
                let body = serde_json::to_string(&recurring).map_err(|e| ApiError::internal(e.to_string()))?;
                let slot = Arc::new(AsyncMutex::new(recurring.clone()));
                vacant.insert(Arc::clone(&slot));
                if let Err(error) = self.commit(vec![Write::Recurring { id: id.to_owned(), body }]).await {
                    self.recurring.remove(id);
                    return Err(error);
                }
                Ok(recurring)
            }
        }
    }

    /// A recurring order.
    pub async fn recurring(&self, id: &str) -> Result<RecurringOrder, ApiError> {
        let slot = self
            .recurring
            .get(id)
            .map(|s| Arc::clone(s.value()))
            .ok_or_else(|| ApiError::not_found("unknown_recurring", format!("no recurring order `{id}`")))?;
        let recurring = slot.lock().await.clone();
        Ok(recurring)
    }

    /// Stops a recurring order; the orders it created stay.
    pub async fn stop_recurring(&self, id: &str) -> Result<RecurringOrder, ApiError> {
        let slot = self
            .recurring
            .get(id)
            .map(|s| Arc::clone(s.value()))
            .ok_or_else(|| ApiError::not_found("unknown_recurring", format!("no recurring order `{id}`")))?;
        let mut recurring = slot.lock().await;
        if recurring.active {
            let mut next = recurring.clone();
            next.active = false;
            next.history.push(event(now(), "stopped", ""));
            self.commit(vec![recurring_write(&next)?]).await?;
            *recurring = next;
        }
        Ok(recurring.clone())
    }

    /// Creates the orders of every recurring order that is due; returns how many.
    pub async fn run_recurring(&self) -> usize {
        let at = now();
        let slots: Vec<_> = self.recurring.iter().map(|e| Arc::clone(e.value())).collect();
        let mut created = 0;
        for slot in slots {
            let mut recurring = slot.lock().await;
            let due = Timestamp::parse_rfc3339(&recurring.next_at).is_ok_and(|t| t.0 <= at.0);
            if !recurring.active || !due {
                continue;
            }
            let Ok(interval) = Interval::parse(&recurring.every) else { continue };
            let mut next = recurring.clone();
            let order_id = format!("{}-{}", next.id, next.orders.len() + 1);
            let mut request = next.template.clone();
            request.id = order_id.clone();
            let detail = match self.create_order(request, None).await {
                Ok(Created::New(record) | Created::Replayed(record)) => {
                    created += 1;
                    let unfilled: u32 = record.plan.as_ref().map_or(0, |p| p.unfilled.iter().map(|u| u.qty).sum());
                    match (record.status, unfilled) {
                        (OrderStatus::Reserved, 0) => format!("order {order_id} reserved"),
                        (OrderStatus::Reserved, n) => format!("order {order_id} reserved; {n} unit(s) out of stock"),
                        (status, _) => format!("order {order_id} {}: nothing could ship", status.name()),
                    }
                }
                Err(error) => format!("order {order_id} failed: {}", error.message),
            };
            next.orders.push(order_id);
            // The next run: one interval on, skipping runs missed while the service was down.
            let mut next_at = interval.after(Timestamp::parse_rfc3339(&next.next_at).unwrap_or(at));
            let mut skipped = 0;
            while next_at.0 <= at.0 {
                next_at = interval.after(next_at);
                skipped += 1;
            }
            next.next_at = next_at.to_string();
            let detail = if skipped > 0 { format!("{detail}; {skipped} missed run(s) skipped") } else { detail };
            next.history.push(event(at, "run", detail));
            let write = match recurring_write(&next) {
                Ok(write) => write,
                Err(error) => {
                    tracing::error!(%error, "cannot encode a recurring order");
                    continue;
                }
            };
            match self.commit(vec![write]).await {
                Ok(()) => *recurring = next,
                Err(error) => tracing::warn!(%error, recurring = %recurring.id, "recurring run not stored"),
            }
        }
        created
    }
}
