//! Catalog and stock: upserts of locations and products, stock levels and adjustments, ATP.

use super::*;

impl Service {
    /// Inserts or replaces locations (all or none).
    pub async fn upsert_locations(&self, locations: Vec<LocationDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut writes = Vec::with_capacity(locations.len());
        for (index, dto) in locations.iter().enumerate() {
            let location = dto.to_engine().map_err(|e| prefix(e, &format!("locations[{index}]")))?;
            catalog
                .upsert_location(location)
                .map_err(|e| ApiError::invalid("invalid_location", e.to_string()).at(format!("locations[{index}]")))?;
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Location { id: dto.id.clone(), body });
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    /// Inserts or replaces products (all or none).
    pub async fn upsert_products(&self, products: Vec<ProductDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut writes = Vec::with_capacity(products.len());
        for (index, dto) in products.iter().enumerate() {
            catalog
                .upsert_product(dto.to_engine())
                .map_err(|e| ApiError::invalid("invalid_product", e.to_string()).at(format!("products[{index}]")))?;
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Product { sku: dto.sku.clone(), body });
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        Ok(())
    }

    /// Sets stock levels (all or none).
    pub async fn set_stock(&self, levels: Vec<StockLevel>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(levels.len());
        for (index, level) in levels.iter().enumerate() {
            let (sku, location) = resolve(&catalog, &level.sku, &level.location, &format!("levels[{index}]"))?;
            resolved.push((sku, location, level.on_hand, level.safety_stock));
        }
        let writes = levels
            .iter()
            .map(|l| Write::StockLevel {
                sku: l.sku.clone(),
                location: l.location.clone(),
                on_hand: l.on_hand,
                safety_stock: l.safety_stock,
            })
            .collect();
        self.commit(writes).await?;
        for (sku, location, on_hand, safety_stock) in resolved {
            self.inventory.set_stock(sku, location, on_hand, safety_stock);
        }
        Ok(())
    }

    /// Adjusts on hand (all or none): a change that would go below zero refuses the batch.
    pub async fn adjust_stock(&self, adjustments: Vec<StockAdjustment>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(adjustments.len());
        let mut after: HashMap<(u32, u32), i64> = HashMap::new();
        for (index, adjustment) in adjustments.iter().enumerate() {
            let path = format!("adjustments[{index}]");
            let (sku, location) = resolve(&catalog, &adjustment.sku, &adjustment.location, &path)?;
            let current = self.inventory.position(sku, location).map_or(0, |p| i64::from(p.on_hand));
            let next = after.entry((sku.0, location.0)).or_insert(current);
            *next += adjustment.delta;
            if *next < 0 || *next > i64::from(u32::MAX) {
                return Err(ApiError::invalid(
                    "stock_out_of_range",
                    format!("on hand of `{}` at `{}` would be {next}", adjustment.sku, adjustment.location),
                )
                .at(format!("{path}.delta")));
            }
            resolved.push((sku, location, adjustment.delta));
        }
        let writes = adjustments
            .iter()
            .map(|a| Write::StockDelta { sku: a.sku.clone(), location: a.location.clone(), delta: a.delta })
            .collect();
        self.commit(writes).await?;
        for (sku, location, delta) in resolved {
            if let Err(error) = self.inventory.adjust_stock(sku, location, delta) {
                tracing::error!(%error, "an adjustment checked before commit failed in memory");
            }
        }
        Ok(())
    }

    /// ATP of a SKU across the network and per location.
    pub fn atp(&self, sku: &str) -> Result<AtpDto, ApiError> {
        let catalog = self.catalog();
        let sku_id =
            catalog.sku_id(sku).ok_or_else(|| ApiError::not_found("unknown_sku", format!("unknown sku `{sku}`")))?;
        let mut positions = Vec::new();
        self.inventory.positions_into(sku_id, &mut positions);
        Ok(AtpDto {
            sku: sku.to_owned(),
            atp: positions.iter().map(|p| u64::from(p.atp())).sum(),
            locations: positions
                .iter()
                .map(|p| PositionDto {
                    location: catalog.location(p.location).id.clone(),
                    on_hand: p.on_hand,
                    reserved: p.reserved,
                    safety_stock: p.safety_stock,
                    atp: p.atp(),
                })
                .collect(),
        })
    }
}
