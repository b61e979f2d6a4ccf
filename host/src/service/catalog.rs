//! Catalog and stock: upserts of locations and products, stock levels and adjustments, ATP.

use super::*;

impl Service {
    /// Inserts or replaces locations (all or none).
    pub async fn upsert_locations(&self, locations: Vec<LocationDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut zones = (*self.location_zones.read()).as_ref().clone();
        let mut writes = Vec::with_capacity(locations.len());
        for (index, dto) in locations.iter().enumerate() {
            let location = dto.to_engine(now()).map_err(|e| prefix(e, &format!("locations[{index}]")))?;
            match &dto.time_zone {
                Some(zone) => zones.insert(dto.id.clone(), zone.clone()),
                None => zones.remove(&dto.id),
            };
            catalog
                .upsert_location(location)
                .map_err(|e| ApiError::invalid("invalid_location", e.to_string()).at(format!("locations[{index}]")))?;
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Location { id: dto.id.clone(), body });
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        *self.location_zones.write() = Arc::new(zones);
        Ok(())
    }

    /// A location as the API shows it (with its time zone).
    pub fn location_dto(&self, location: &switchyard_engine::Location) -> LocationDto {
        let mut dto = LocationDto::from_engine(location);
        dto.time_zone = self.location_zones.read().get(&location.id).cloned();
        dto
    }

    /// Brings every location's UTC offset up to date (daylight saving starts and ends);
    /// returns how many changed.
    pub async fn refresh_time_zones(&self) -> usize {
        let zones = Arc::clone(&self.location_zones.read());
        if zones.is_empty() {
            return 0;
        }
        let _order = self.stock_lock.lock().await;
        let at = now();
        let mut catalog = (*self.catalog()).clone();
        let mut changed = 0;
        for (id, zone) in zones.iter() {
            let Ok(zone) = crate::dto::time_zone(zone) else { continue };
            let offset = crate::dto::utc_offset_minutes(zone, at);
            if let Some(location_id) = catalog.location_id(id)
                && catalog.location(location_id).utc_offset_minutes != offset
            {
                let mut location = catalog.location(location_id).clone();
                location.utc_offset_minutes = offset;
                if catalog.upsert_location(location).is_ok() {
                    changed += 1;
                }
            }
        }
        if changed > 0 {
            *self.catalog.write() = Arc::new(catalog);
        }
        changed
    }

    /// Inserts or replaces products (all or none).
    pub async fn upsert_products(&self, products: Vec<ProductDto>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let mut catalog = (*self.catalog()).clone();
        let mut writes = Vec::with_capacity(products.len());
        let mut kits = (*self.kits()).clone();
        let mut releases = (*self.releases()).clone();
        for (index, dto) in products.iter().enumerate() {
            catalog
                .upsert_product(dto.to_engine())
                .map_err(|e| ApiError::invalid("invalid_product", e.to_string()).at(format!("products[{index}]")))?;
            if dto.components.is_empty() {
                kits.remove(&dto.sku);
            } else {
                kits.insert(dto.sku.clone(), kit_of(dto));
            }
            match release_of(dto).map_err(|e| prefix(e, &format!("products[{index}]")))? {
                Some(release) => releases.insert(dto.sku.clone(), release),
                None => releases.remove(&dto.sku),
            };
            let body = serde_json::to_string(dto).map_err(|e| ApiError::internal(e.to_string()))?;
            writes.push(Write::Product { sku: dto.sku.clone(), body });
        }
        // Kits are checked against the catalog and kits as they will be.
        for (index, dto) in products.iter().enumerate() {
            for (c, component) in dto.components.iter().enumerate() {
                let field = format!("products[{index}].components[{c}]");
                let problem = if catalog.sku_id(&component.sku).is_none() {
                    Some(format!("unknown sku `{}`", component.sku))
                } else if kits.contains_key(&component.sku) {
                    Some(format!("`{}` is a kit; a kit's components are products, not kits", component.sku))
                } else if component.qty == 0 {
                    Some("a component needs at least 1 unit".to_owned())
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Err(ApiError::invalid("invalid_kit", problem).at(field));
                }
            }
            if !dto.components.is_empty() && self.has_stock(&catalog, &dto.sku) {
                return Err(ApiError::invalid(
                    "invalid_kit",
                    format!("`{}` has stock of its own; a kit cannot", dto.sku),
                )
                .at(format!("products[{index}].components")));
            }
        }
        self.commit(writes).await?;
        *self.catalog.write() = Arc::new(catalog);
        *self.kits.write() = Arc::new(kits);
        *self.releases.write() = Arc::new(releases);
        Ok(())
    }

    fn has_stock(&self, catalog: &Catalog, sku: &str) -> bool {
        let mut positions = Vec::new();
        if let Some(id) = catalog.sku_id(sku) {
            self.inventory.positions_into(id, &mut positions);
        }
        !positions.is_empty()
    }

    /// A product as the API shows it (with its components when it is a kit).
    pub fn product_dto(&self, product: &switchyard_engine::Product) -> ProductDto {
        let mut dto = ProductDto::from_engine(product);
        if let Some(kit) = self.kits().get(&product.sku) {
            dto.components = kit
                .components
                .iter()
                .map(|(sku, qty)| crate::dto::ComponentDto { sku: sku.clone(), qty: *qty })
                .collect();
            dto.kit_may_split = kit.may_split;
        }
        if let Some(release) = self.releases().get(&product.sku) {
            dto.release_at = Some(release.at_text.clone());
            dto.preorder_cap = release.cap;
        }
        dto
    }

    /// Sets stock levels (all or none).
    pub async fn set_stock(&self, levels: Vec<StockLevel>) -> Result<(), ApiError> {
        let _order = self.stock_lock.lock().await;
        let catalog = self.catalog();
        let mut resolved = Vec::with_capacity(levels.len());
        for (index, level) in levels.iter().enumerate() {
            let (sku, location) = resolve(&catalog, &level.sku, &level.location, &format!("levels[{index}]"))?;
            self.refuse_kit(&level.sku, &format!("levels[{index}].sku"))?;
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
            self.refuse_kit(&adjustment.sku, &format!("{path}.sku"))?;
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

    fn refuse_kit(&self, sku: &str, field: &str) -> Result<(), ApiError> {
        if self.kits().contains_key(sku) {
            return Err(
                ApiError::invalid("kit_stock", format!("`{sku}` is a kit: its stock is its components'")).at(field)
            );
        }
        Ok(())
    }

    /// ATP of a SKU across the network and per location. A kit's ATP at a location is the
    /// number of whole kits its components there make; across the network it is the sum of
    /// those, or, when its components may ship apart, what the network's components make.
    pub fn atp(&self, sku: &str) -> Result<AtpDto, ApiError> {
        let catalog = self.catalog();
        let sku_id =
            catalog.sku_id(sku).ok_or_else(|| ApiError::not_found("unknown_sku", format!("unknown sku `{sku}`")))?;
        if let Some(kit) = self.kits().get(sku) {
            return self.kit_atp(&catalog, sku, kit);
        }
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

    fn kit_atp(&self, catalog: &Catalog, sku: &str, kit: &Kit) -> Result<AtpDto, ApiError> {
        // Per location: kits its components make there.
        let mut per_location: HashMap<u32, u32> = HashMap::new();
        let mut network = u64::MAX;
        for (index, (component, per_kit)) in kit.components.iter().enumerate() {
            let id = catalog
                .sku_id(component)
                .ok_or_else(|| ApiError::internal(format!("kit `{sku}` names unknown sku `{component}`")))?;
            let mut positions = Vec::new();
            self.inventory.positions_into(id, &mut positions);
            let mut here: HashMap<u32, u32> = HashMap::new();
            for position in &positions {
                here.insert(position.location.0, position.atp() / per_kit.max(&1));
            }
            network =
                network.min(positions.iter().map(|p| u64::from(p.atp())).sum::<u64>() / u64::from(*per_kit.max(&1)));
            if index == 0 {
                per_location = here;
            } else {
                per_location =
                    per_location.into_iter().map(|(l, n)| (l, n.min(here.get(&l).copied().unwrap_or(0)))).collect();
            }
        }
        let mut locations: Vec<PositionDto> = per_location
            .into_iter()
            .filter(|(_, kits)| *kits > 0)
            .map(|(location, kits)| PositionDto {
                location: catalog.location(switchyard_engine::LocationId(location)).id.clone(),
                on_hand: kits,
                reserved: 0,
                safety_stock: 0,
                atp: kits,
            })
            .collect();
        locations.sort_by(|a, b| a.location.cmp(&b.location));
        let together: u64 = locations.iter().map(|p| u64::from(p.atp)).sum();
        let atp = if kit.may_split || kit.components.is_empty() {
            if network == u64::MAX { 0 } else { network }
        } else {
            together
        };
        Ok(AtpDto { sku: sku.to_owned(), atp, locations })
    }
}
