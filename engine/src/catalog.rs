//! The catalog: every location and product the engine knows, indexed densely for the hot path.

use std::collections::HashMap;

use crate::domain::{Location, LocationId, Product, SkuId};
use crate::kits::Kit;

/// The heaviest unit a product may weigh, kg (what no parcel or freight network ships is a
/// typo, and a finite bound keeps every cost finite).
pub const MAX_WEIGHT_KG: f64 = 100_000.0;
/// The largest handling cost a location may charge per shipment or per unit.
pub const MAX_HANDLING: f64 = 1_000_000.0;

/// Why a location or product could not be added.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// Two locations with one id.
    #[error("location `{0}` is defined twice")]
    DuplicateLocation(String),
    /// Two products with one SKU.
    #[error("sku `{0}` is defined twice")]
    DuplicateSku(String),
    /// A kit definition that cannot be used.
    #[error("kit `{sku}`: {reason}")]
    InvalidKit {
        /// The kit's SKU.
        sku: String,
        /// What is wrong.
        reason: String,
    },
    /// A field that must hold a usable value does not.
    #[error("{field} of `{id}` is invalid: {reason}")]
    InvalidField {
        /// The location id or SKU.
        id: String,
        /// The field's name.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// All locations and products, each addressable by its merchant id and by a dense index.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    locations: Vec<Location>,
    products: Vec<Product>,
    location_ids: HashMap<String, LocationId>,
    skus: HashMap<String, SkuId>,
    // Kit definitions by kit SKU.
    kits: HashMap<SkuId, Kit>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds a location; its id must be new and its numbers usable.
    pub fn add_location(&mut self, location: Location) -> Result<LocationId, CatalogError> {
        Catalog::check_location(&location)?;
        if self.location_ids.contains_key(&location.id) {
            return Err(CatalogError::DuplicateLocation(location.id));
        }
        let id = LocationId(self.locations.len() as u32);
        self.location_ids.insert(location.id.clone(), id);
        self.locations.push(location);
        Ok(id)
    }

    /// Adds a location or replaces the one with its id, which keeps its dense index (so
    /// stock and reservations recorded against it stay valid).
    pub fn upsert_location(&mut self, location: Location) -> Result<LocationId, CatalogError> {
        Catalog::check_location(&location)?;
        match self.location_ids.get(&location.id) {
            Some(&id) => {
                self.locations[id.index()] = location;
                Ok(id)
            }
            None => self.add_location(location),
        }
    }

    /// Adds a product or replaces the one with its SKU, keeping its dense index.
    pub fn upsert_product(&mut self, product: Product) -> Result<SkuId, CatalogError> {
        Catalog::check_product(&product)?;
        match self.skus.get(&product.sku) {
            Some(&id) => {
                self.products[id.index()] = product;
                Ok(id)
            }
            None => self.add_product(product),
        }
    }

    fn check_location(location: &Location) -> Result<(), CatalogError> {
        let invalid = |field, reason| CatalogError::InvalidField { id: location.id.clone(), field, reason };
        if location.id.is_empty() {
            return Err(invalid("id", "must not be empty"));
        }
        if !location.position.is_valid() {
            return Err(invalid("lat/lon", "must be finite degrees in range"));
        }
        if !(0.0..=MAX_HANDLING).contains(&location.handling_per_shipment) {
            return Err(invalid("handling_per_shipment", "must be a number from 0 to 1000000"));
        }
        if !(0.0..=MAX_HANDLING).contains(&location.handling_per_unit) {
            return Err(invalid("handling_per_unit", "must be a number from 0 to 1000000"));
        }
        if location.downtime.iter().any(|window| window.to <= window.from) {
            return Err(invalid("downtime", "every window must end after it starts"));
        }
        Ok(())
    }

    fn check_product(product: &Product) -> Result<(), CatalogError> {
        let invalid = |field, reason| CatalogError::InvalidField { id: product.sku.clone(), field, reason };
        if product.sku.is_empty() {
            return Err(invalid("sku", "must not be empty"));
        }
        if product.group.is_empty() {
            return Err(invalid("group", "must not be empty"));
        }
        if !(0.0..=MAX_WEIGHT_KG).contains(&product.weight_kg) {
            return Err(invalid("weight_kg", "must be a number from 0 to 100000"));
        }
        Ok(())
    }

    /// Adds a product; its SKU must be new and its weight usable.
    pub fn add_product(&mut self, product: Product) -> Result<SkuId, CatalogError> {
        Catalog::check_product(&product)?;
        if self.skus.contains_key(&product.sku) {
            return Err(CatalogError::DuplicateSku(product.sku));
        }
        let id = SkuId(self.products.len() as u32);
        self.skus.insert(product.sku.clone(), id);
        self.products.push(product);
        Ok(id)
    }

    /// Makes product `sku` a kit of `kit`'s components (`None`: an ordinary product again).
    /// Components must be products of this catalog that are not kits themselves, each with
    /// at least one unit, and a kit may not be a component of another.
    pub fn set_kit(&mut self, sku: SkuId, kit: Option<Kit>) -> Result<(), CatalogError> {
        let name = |id: SkuId| self.products.get(id.index()).map_or_else(|| format!("#{}", id.0), |p| p.sku.clone());
        let invalid = |reason: String| CatalogError::InvalidKit { sku: name(sku), reason };
        if sku.index() >= self.products.len() {
            return Err(invalid("no such product".to_owned()));
        }
        let Some(kit) = kit else {
            self.kits.remove(&sku);
            return Ok(());
        };
        if kit.components.is_empty() {
            return Err(invalid("a kit needs at least one component".to_owned()));
        }
        for component in &kit.components {
            if component.sku.index() >= self.products.len() {
                return Err(invalid(format!("component #{} is not a product", component.sku.0)));
            }
            if component.sku == sku || self.kits.contains_key(&component.sku) {
                return Err(invalid(format!(
                    "`{}` is a kit; a kit's components are products, not kits",
                    name(component.sku)
                )));
            }
            if component.qty == 0 {
                return Err(invalid(format!("component `{}` needs at least 1 unit", name(component.sku))));
            }
        }
        if self.kits.values().any(|other| other.components.iter().any(|c| c.sku == sku)) {
            return Err(invalid("it is a component of another kit; a kit cannot be".to_owned()));
        }
        self.kits.insert(sku, kit);
        Ok(())
    }

    /// The kit definition of `sku`, when it is a kit.
    pub fn kit(&self, sku: SkuId) -> Option<&Kit> {
        self.kits.get(&sku)
    }

    /// Whether any product is a kit.
    pub fn has_kits(&self) -> bool {
        !self.kits.is_empty()
    }

    /// The dense index of the location with merchant id `id`.
    pub fn location_id(&self, id: &str) -> Option<LocationId> {
        self.location_ids.get(id).copied()
    }

    /// The dense index of the product with SKU `sku`.
    pub fn sku_id(&self, sku: &str) -> Option<SkuId> {
        self.skus.get(sku).copied()
    }

    /// The location at `id`.
    ///
    /// Ids come from this catalog, so they are always in range.
    pub fn location(&self, id: LocationId) -> &Location {
        &self.locations[id.index()]
    }

    /// The product at `id`.
    pub fn product(&self, id: SkuId) -> &Product {
        &self.products[id.index()]
    }

    /// All locations, indexed by [`LocationId`].
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// All products, indexed by [`SkuId`].
    pub fn products(&self) -> &[Product] {
        &self.products
    }
}
