//! Column names of the raw Online Retail II CSV header.

pub const INVOICE: &str = "Invoice";
pub const STOCK_CODE: &str = "StockCode";
pub const DESCRIPTION: &str = "Description";
pub const QUANTITY: &str = "Quantity";
pub const INVOICE_DATE: &str = "InvoiceDate";
pub const PRICE: &str = "Price";
pub const CUSTOMER_ID: &str = "Customer ID";
pub const COUNTRY: &str = "Country";

/// Every column, in file order; together they define an "exact duplicate line".
pub const ALL: [&str; 8] = [INVOICE, STOCK_CODE, DESCRIPTION, QUANTITY, INVOICE_DATE, PRICE, CUSTOMER_ID, COUNTRY];
