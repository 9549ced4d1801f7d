//! The bounds of every field a back office sends; each refusal is
//! `invalid_field` naming the field, so that a batch can report it per item.

use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{
    CustomerImport, MAX_EMAIL_LEN, MAX_EXTERNAL_ID_LEN, MAX_IMAGE_URL_LEN, MAX_PRICE,
    MAX_PRODUCT_NAME_CHARS, MAX_STOCK, ProductPatch, ProductUpsert,
};
use cartroom_protocol::http::GroupBuy;
use cartroom_protocol::limits::MAX_SKU_LEN;

use crate::refusal::Refusal;
use crate::store::back_office::{CustomerWrite, ProductFields, ProductPatchFields};
use crate::text::check_line;

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::InvalidField, message)
}

/// One line of shown text, trimmed, not empty.
pub fn line(field: &str, text: &str, max_chars: usize) -> Result<String, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(format!("{field} may not be empty")));
    }
    check_line(field, text, max_chars)?;
    Ok(text.to_owned())
}

/// A sku: 1 to 64 of `A-Z a-z 0-9 . _ -` (it appears in paths).
pub fn sku(sku: &str) -> Result<(), Refusal> {
    let ok = !sku.is_empty()
        && sku.len() <= MAX_SKU_LEN
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "sku: 1 to {MAX_SKU_LEN} letters, digits, '.', '_' or '-'"
        )))
    }
}

fn price(price: i64) -> Result<(), Refusal> {
    if (0..=MAX_PRICE).contains(&price) {
        Ok(())
    } else {
        Err(invalid(format!("price: 0 to {MAX_PRICE} (minor units)")))
    }
}

fn stock(stock: i64) -> Result<(), Refusal> {
    if (0..=MAX_STOCK).contains(&stock) {
        Ok(())
    } else {
        Err(invalid(format!("stock: 0 to {MAX_STOCK}")))
    }
}

fn image_url(url: &Option<String>) -> Result<(), Refusal> {
    let Some(url) = url else { return Ok(()) };
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    if scheme && url.len() <= MAX_IMAGE_URL_LEN && !url.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(invalid(format!(
            "image_url: an http(s) URL of at most {MAX_IMAGE_URL_LEN} bytes"
        )))
    }
}

/// A tier needs at least two units and a price below the product's.
fn group_buy(tier: &Option<GroupBuy>, product_price: i64) -> Result<(), Refusal> {
    let Some(tier) = tier else { return Ok(()) };
    if !(2..=MAX_STOCK).contains(&tier.min_quantity) {
        return Err(invalid(format!("group_buy.min_quantity: 2 to {MAX_STOCK}")));
    }
    if !(0..product_price).contains(&tier.price) {
        return Err(invalid(
            "group_buy.price: from 0 to below the product's price",
        ));
    }
    Ok(())
}

/// An upserted product's fields, or why not.
pub fn upsert(item: &ProductUpsert, store_currency: &str) -> Result<ProductFields, Refusal> {
    sku(&item.sku)?;
    let name = line("name", &item.name, MAX_PRODUCT_NAME_CHARS)?;
    price(item.price)?;
    stock(item.stock)?;
    if let Some(currency) = &item.currency
        && currency != store_currency
    {
        return Err(invalid(format!(
            "currency: the store sells in {store_currency}"
        )));
    }
    image_url(&item.image_url)?;
    group_buy(&item.group_buy, item.price)?;
    Ok(ProductFields {
        name,
        price: item.price,
        stock: item.stock,
        image_url: item.image_url.clone(),
        group_buy: item.group_buy.clone(),
    })
}

/// A patch's fields, or why not (the group-buy tier against the price is
/// checked once merged, [`merged`]).
pub fn patch(patch: &ProductPatch) -> Result<ProductPatchFields, Refusal> {
    let name = match &patch.name {
        Some(n) => Some(line("name", n, MAX_PRODUCT_NAME_CHARS)?),
        None => None,
    };
    if let Some(p) = patch.price {
        price(p)?;
    }
    if let Some(s) = patch.stock {
        stock(s)?;
    }
    if let Some(url) = &patch.image_url {
        image_url(url)?;
    }
    Ok(ProductPatchFields {
        name,
        price: patch.price,
        stock: patch.stock,
        image_url: patch.image_url.clone(),
        group_buy: patch.group_buy.clone(),
    })
}

/// A product as a patch leaves it still makes sense.
pub fn merged(fields: &ProductFields) -> Result<(), Refusal> {
    group_buy(&fields.group_buy, fields.price)
}

/// An imported customer: a plausible e-mail (lower-cased), a name.
pub fn customer(item: &CustomerImport) -> Result<CustomerWrite, Refusal> {
    let email = item.email.trim().to_lowercase();
    let plausible = email.len() <= MAX_EMAIL_LEN
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(invalid(format!(
            "email: an e-mail address of at most {MAX_EMAIL_LEN} bytes"
        )));
    }
    let name = line("name", &item.name, MAX_PRODUCT_NAME_CHARS)?;
    let external_id = match &item.external_id {
        Some(id) => Some(line("external_id", id, MAX_EXTERNAL_ID_LEN)?),
        None => None,
    };
    Ok(CustomerWrite {
        email,
        name,
        external_id,
    })
}
