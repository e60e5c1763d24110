//! What credits cost: price lists per currency, with tiers that lower the price per credit as
//! more are bought. Prices are exact: integers of a ten-thousandth of the currency unit
//! (`0.065` is 650), and a purchase is charged in the currency's minor unit (cents), rounded up.

use serde::Serialize;

/// Ten-thousandths of a currency unit in one minor unit (a cent).
const PER_CENT: u64 = 100;
/// The most credits one purchase may buy.
pub const MAX_CREDITS: u64 = 1_000_000;

/// One tier: from `min_credits` on, each credit costs `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub min_credits: u64,
    /// Ten-thousandths of the currency unit per credit.
    pub price: u64,
}

/// The tiers of one currency, from the smallest purchase up (the first starts at 1 credit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceList {
    /// ISO 4217, upper case (`AUD`).
    pub currency: String,
    pub tiers: Vec<Tier>,
}

/// A tier as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TierView {
    pub min_credits: u64,
    /// The price of one credit, as a decimal string in the currency (`"0.065"`).
    pub price_per_credit: String,
}

impl PriceList {
    /// The tier a purchase of `credits` falls in.
    pub fn tier(&self, credits: u64) -> Tier {
        self.tiers
            .iter()
            .rev()
            .find(|t| credits >= t.min_credits)
            .or(self.tiers.first())
            .copied()
            .unwrap_or(Tier {
                min_credits: 1,
                price: 0,
            })
    }

    /// What `credits` cost, in minor units (cents), rounded up.
    pub fn cost(&self, credits: u64) -> u64 {
        (credits * self.tier(credits).price).div_ceil(PER_CENT)
    }

    /// The most credits `cents` buys (at the tier that many credits reach).
    pub fn credits_for(&self, cents: u64) -> u64 {
        self.tiers
            .iter()
            .filter(|t| t.price > 0)
            .map(|t| (cents * PER_CENT / t.price).min(MAX_CREDITS))
            .filter(|&n| n > 0 && self.cost(n) <= cents)
            .max()
            .unwrap_or(0)
    }

    pub fn view(&self) -> Vec<TierView> {
        self.tiers
            .iter()
            .map(|t| TierView {
                min_credits: t.min_credits,
                price_per_credit: decimal(t.price),
            })
            .collect()
    }
}

/// `650` → `"0.065"`.
fn decimal(price: u64) -> String {
    let s = format!("{}.{:04}", price / 10_000, price % 10_000);
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}00")
    } else if s.split('.').nth(1).is_some_and(|f| f.len() < 2) {
        format!("{s}0")
    } else {
        s.to_owned()
    }
}

/// `"0.065"` → `650`; at most four decimals.
fn parse_price(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 4
        || whole.is_empty()
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = format!("{frac:0<4}").parse().ok()?;
    whole.checked_mul(10_000)?.checked_add(frac)
}

/// Parses a deployment's price lists: `AUD:1=0.10,500=0.08,2000=0.065;NZD:1=0.11`. Each
/// currency's tiers start at 1 credit, rise strictly, and do not get dearer.
pub fn parse(spec: &str) -> Result<Vec<PriceList>, String> {
    let mut lists: Vec<PriceList> = Vec::new();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (currency, tiers) = part
            .split_once(':')
            .ok_or_else(|| format!("{part:?}: expected CURRENCY:min=price,..."))?;
        let currency = currency.trim().to_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("{currency:?} is not an ISO 4217 currency code"));
        }
        if lists.iter().any(|l| l.currency == currency) {
            return Err(format!("{currency} is listed twice"));
        }
        let mut list = PriceList {
            currency: currency.clone(),
            tiers: Vec::new(),
        };
        for t in tiers.split(',').map(str::trim) {
            let (min, price) = t
                .split_once('=')
                .ok_or_else(|| format!("{currency} tier {t:?}: expected min=price"))?;
            let min: u64 = min
                .trim()
                .parse()
                .map_err(|_| format!("{currency} tier {t:?}: min is not a whole number"))?;
            let price = parse_price(price.trim())
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("{currency} tier {t:?}: price must be like 0.08"))?;
            if let Some(prev) = list.tiers.last()
                && (min <= prev.min_credits || price > prev.price)
            {
                return Err(format!(
                    "{currency}: tiers must start at more credits and not cost more per credit"
                ));
            }
            list.tiers.push(Tier {
                min_credits: min,
                price,
            });
        }
        if list.tiers.first().is_none_or(|t| t.min_credits != 1) {
            return Err(format!("{currency}: the first tier must start at 1 credit"));
        }
        lists.push(list);
    }
    if lists.is_empty() {
        return Err("no currency is priced".into());
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn aud() -> PriceList {
        parse("AUD:1=0.10,500=0.08,2000=0.065").unwrap().remove(0)
    }

    #[test]
    fn buying_more_lowers_the_price_per_credit() {
        let p = aud();
        assert_eq!(p.cost(1), 10);
        assert_eq!(p.cost(499), 4990);
        assert_eq!(p.cost(500), 4000);
        assert_eq!(p.cost(2000), 13_000);
        assert_eq!(p.cost(3), 30);
        // 0.065 × 3 credits would be 19.5 cents at that tier; below it the tier is 0.10.
        assert_eq!(p.tier(2001).price, 650);
    }

    #[test]
    fn money_buys_the_most_credits_it_can() {
        let p = aud();
        assert_eq!(p.credits_for(4000), 500);
        assert_eq!(p.credits_for(4500), 562);
        assert_eq!(p.credits_for(4989), 623);
        assert_eq!(p.credits_for(13_000), 2000);
        assert_eq!(p.credits_for(9), 0);
        for cents in [10, 99, 4000, 4999, 13_000, 50_000] {
            let n = p.credits_for(cents);
            assert!(p.cost(n) <= cents, "{cents}: {n}");
        }
    }

    #[test]
    fn lists_are_checked() {
        assert!(parse("AUD:1=0.10;NZD:1=0.11,100=0.1").is_ok());
        for bad in [
            "",
            "AUD",
            "AU:1=0.1",
            "AUD:2=0.1",
            "AUD:1=0.1,1=0.09",
            "AUD:1=0.1,10=0.2",
            "AUD:1=abc",
            "AUD:1=0.12345",
            "AUD:1=0.1;AUD:1=0.1",
            "AUD:1=0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            aud()
                .view()
                .iter()
                .map(|t| t.price_per_credit.as_str())
                .collect::<Vec<_>>(),
            vec!["0.10", "0.08", "0.065"]
        );
        assert_eq!(decimal(10_000), "1.00");
        assert_eq!(decimal(12_345), "1.2345");
    }
}
