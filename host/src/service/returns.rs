//! Returns: a customer sends back shipped units; the order's policy chooses the location that
//! takes them (`switchyard_engine::choose_return_location`); receiving them restocks what is
//! sellable and records the outcome.

use switchyard_engine::{Order, OrderLine};

use super::limits::MAX_RETURN_LINES;
use super::validate::timestamp;
use super::{Service, ServiceError, event, event_with_reason, now, random_hex, resolve};
use crate::records::{EventKind, OrderRecord, ReturnLabel, ReturnLine, ReturnOutcome, ReturnRecord, ReturnStatus};
use crate::store::Change;

impl Service {
    /// Requests a return of shipped units; the reply's return carries its location and label.
    pub async fn request_return(
        &self,
        id: &str,
        lines: Vec<ReturnLine>,
        reason: &str,
    ) -> Result<OrderRecord, ServiceError> {
        super::limits::text("reason", reason, super::limits::MAX_REASON)?;
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        let Some(plan) = record.plan.clone() else {
            return Err(ServiceError::conflict("nothing_shipped", format!("order `{id}` has shipped nothing")));
        };
        if lines.is_empty() {
            return Err(ServiceError::invalid("invalid_field", "name at least one line").at("lines"));
        }
        if lines.len() > MAX_RETURN_LINES {
            return Err(ServiceError::invalid(
                "too_many_lines",
                format!("a return has at most {MAX_RETURN_LINES} lines, not {}", lines.len()),
            )
            .at("lines"));
        }
        let catalog = self.catalog();
        let mut returned = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let field = format!("lines[{index}]");
            let shipped: u32 = plan
                .shipments
                .iter()
                .filter(|s| s.state.has_left())
                .flat_map(|s| &s.lines)
                .filter(|l| l.line_id == line.line_id)
                .map(|l| l.qty)
                .sum();
            let already: u64 = record
                .returns
                .iter()
                .flat_map(|r| &r.lines)
                .chain(&lines[..index])
                .filter(|l| l.line_id == line.line_id)
                .map(|l| u64::from(l.qty))
                .sum();
            if line.qty == 0 || u64::from(line.qty) + already > u64::from(shipped) {
                return Err(ServiceError::invalid(
                    "invalid_return",
                    format!(
                        "line `{}` shipped {shipped} unit(s), {already} already returned; {} cannot come back",
                        line.line_id, line.qty
                    ),
                )
                .at(field));
            }
            let Some(sku) =
                plan.shipments.iter().flat_map(|s| &s.lines).find(|l| l.line_id == line.line_id).map(|l| &l.sku)
            else {
                return Err(ServiceError::invalid("invalid_return", "no such line").at(field));
            };
            let sku_id = catalog
                .sku_id(sku)
                .ok_or_else(|| ServiceError::internal(format!("returned sku `{sku}` left the catalog")))?;
            returned.push(OrderLine { id: line.line_id.clone(), sku: sku_id, qty: line.qty, kit: None });
        }
        let at = now();
        let placed_at = match &record.request.placed_at {
            Some(text) => timestamp("placed_at", text)?,
            None => at,
        };
        let order = Order {
            id: record.id.clone(),
            placed_at,
            channel: record.request.channel.clone(),
            ship_to: switchyard_engine::Address {
                position: switchyard_engine::GeoPoint {
                    lat: record.request.ship_to.lat,
                    lon: record.request.ship_to.lon,
                },
                postal_code: record.request.ship_to.postal_code.clone(),
                country: record.request.ship_to.country.clone(),
            },
            lines: returned,
        };
        let binding = record.routed_binding(&self.registry)?;
        let choice = switchyard_engine::choose_return_location(&catalog, &*binding.policy, &order, at)
            .map_err(|e| ServiceError::invalid("policy_failed", e.to_string()))?;
        let Some(location) = choice.location else {
            let reasons: Vec<String> = choice
                .considered
                .iter()
                .map(|(l, why)| match why {
                    Ok(_) => catalog.location(*l).id.clone(),
                    Err(reason) => format!("{} ({reason})", catalog.location(*l).id),
                })
                .collect();
            let considered = if reasons.is_empty() { "none accepts returns".to_owned() } else { reasons.join(", ") };
            return Err(ServiceError::invalid(
                "no_return_location",
                format!("no location can take this return now; considered: {considered}"),
            ));
        };
        let location = catalog.location(location);
        let return_id = format!("{id}-R{}", record.returns.len() + 1);
        let reference = format!("RMA-{}", random_hex(4)?.to_uppercase());
        let mut next = record.clone();
        next.returns.push(ReturnRecord {
            id: return_id.clone(),
            lines,
            location: location.id.clone(),
            label: ReturnLabel {
                location: location.id.clone(),
                lat: location.position.lat,
                lon: location.position.lon,
                reference: reference.clone(),
            },
            status: ReturnStatus::Requested,
            reason: reason.to_owned(),
            restocked: Vec::new(),
            outcome: None,
        });
        next.history.push(event_with_reason(
            at,
            EventKind::ReturnRequested,
            &format!("{return_id} to {} ({reference})", location.id),
            reason,
        ));
        self.commit_order(Some(&*record), &mut next, Vec::new()).await?;
        *record = next;
        Ok(record.clone())
    }

    /// The return arrived: its sellable units go back into stock at its location, and the
    /// outcome is recorded. `sellable: None` restocks every unit.
    pub async fn receive_return(
        &self,
        id: &str,
        return_id: &str,
        sellable: Option<Vec<ReturnLine>>,
        outcome: ReturnOutcome,
    ) -> Result<OrderRecord, ServiceError> {
        let _order = self.stock_lock.lock().await;
        let slot = self.slot(id).await?;
        let mut record = slot.lock().await;
        let Some(index) = record.returns.iter().position(|r| r.id == return_id) else {
            return Err(ServiceError::not_found("unknown_return", format!("order `{id}` has no return `{return_id}`")));
        };
        let entry = record.returns[index].clone();
        if entry.status == ReturnStatus::Received {
            return Err(ServiceError::conflict("invalid_state", format!("return `{return_id}` was received already")));
        }
        let sellable = sellable.unwrap_or_else(|| entry.lines.clone());
        if sellable.len() > MAX_RETURN_LINES {
            return Err(ServiceError::invalid(
                "too_many_lines",
                format!("at most {MAX_RETURN_LINES} sellable lines, not {}", sellable.len()),
            )
            .at("sellable"));
        }
        // Each line may be named more than once, but never restock more than came back.
        for (i, line) in sellable.iter().enumerate() {
            let returned: u64 =
                entry.lines.iter().filter(|l| l.line_id == line.line_id).map(|l| u64::from(l.qty)).sum();
            let restocking: u64 =
                sellable[..=i].iter().filter(|l| l.line_id == line.line_id).map(|l| u64::from(l.qty)).sum();
            if !entry.lines.iter().any(|l| l.line_id == line.line_id) {
                return Err(ServiceError::invalid(
                    "invalid_return",
                    format!("return `{return_id}` has no line `{}`", line.line_id),
                )
                .at(format!("sellable[{i}].line_id")));
            }
            if restocking > returned {
                return Err(ServiceError::invalid(
                    "invalid_return",
                    format!("line `{}` returned {returned} unit(s), not {restocking}", line.line_id),
                )
                .at(format!("sellable[{i}]")));
            }
        }
        let catalog = self.catalog();
        let sku_of = |line_id: &str| {
            record
                .plan
                .as_ref()
                .and_then(|p| p.shipments.iter().flat_map(|s| &s.lines).find(|l| l.line_id == line_id))
                .map(|l| l.sku.clone())
        };
        let mut deltas = Vec::new();
        let mut applied = Vec::new();
        for line in sellable.iter().filter(|l| l.qty > 0) {
            let sku = sku_of(&line.line_id).ok_or_else(|| ServiceError::internal("a returned line left the plan"))?;
            let (sku_id, location_id) = resolve(&catalog, &sku, &entry.location, "location")?;
            // Checked against the stock the change will meet: `stock_lock` is held, so on hand
            // cannot move until it is applied.
            self.inventory.check_adjust(sku_id, location_id, i64::from(line.qty)).map_err(|_| {
                ServiceError::invalid(
                    "stock_out_of_range",
                    format!("on hand of `{sku}` at `{}` would pass {}", entry.location, u32::MAX),
                )
                .at("sellable")
            })?;
            deltas.push(Change::StockDelta {
                sku: sku.clone(),
                location: entry.location.clone(),
                delta: i64::from(line.qty),
            });
            applied.push((sku_id, location_id, i64::from(line.qty)));
        }
        let at = now();
        let mut next = record.clone();
        let restocked: u32 = sellable.iter().map(|l| l.qty).sum();
        next.returns[index].status = ReturnStatus::Received;
        next.returns[index].restocked = sellable;
        next.returns[index].outcome = Some(outcome);
        next.history.push(event(
            at,
            EventKind::ReturnReceived,
            format!("{return_id} at {}: {restocked} unit(s) restocked, {}", entry.location, outcome.name()),
        ));
        self.commit_order(Some(&*record), &mut next, deltas).await?;
        for (sku, location, delta) in applied {
            // INVARIANT: checked above under `stock_lock`, which is still held.
            if let Err(error) = self.inventory.adjust_stock(sku, location, delta) {
                tracing::error!(%error, order = id, "a restock checked before its commit failed");
            }
        }
        *record = next;
        Ok(record.clone())
    }
}
