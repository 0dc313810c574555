"""The SDL of the part of Shopify's GraphQL Admin API (2026-10) that the sandbox serves.

Type, field and argument names are Shopify's; only the fields a stock and price sync and an
order flow use are here, so a query for anything else fails validation as an unknown field.
"""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

API_VERSION = "2026-10"

SDL = """
schema { query: QueryRoot mutation: Mutation }

"Makes a mutation safe to retry: a repeat with the same key returns the first result."
directive @idempotent(key: String!) on FIELD

scalar DateTime
scalar Money

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type QueryRoot {
  location(id: ID): Location
  locations(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
            query: String): LocationConnection!
  product(id: ID!): Product
  productVariant(id: ID!): ProductVariant
  productVariants(first: Int, after: String, last: Int, before: String,
                  reverse: Boolean = false, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
  order(id: ID!): Order
}

type Location implements Node {
  id: ID!
  name: String!
  isActive: Boolean!
  inventoryLevel(inventoryItemId: ID!): InventoryLevel
}
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type Product implements Node {
  id: ID!
  title: String!
  handle: String!
  variants(first: Int, after: String, last: Int, before: String,
           reverse: Boolean = false): ProductVariantConnection!
}

type ProductVariant implements Node {
  id: ID!
  title: String!
  displayName: String!
  sku: String
  price: Money!
  inventoryQuantity: Int
  product: Product!
  inventoryItem: InventoryItem!
  updatedAt: DateTime!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}

type InventoryItem implements Node {
  id: ID!
  sku: String
  tracked: Boolean!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
}

type InventoryLevel implements Node {
  id: ID!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type InventoryQuantity { id: ID! name: String! quantity: Int! }

type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!],
          quantityNames: [String!]): [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
  ledgerDocumentUri: String
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  changeFromQuantity: Int
}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventorySetQuantitiesUserError {
  field: [String!]
  code: InventorySetQuantitiesUserErrorCode
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_NAME
  INVALID_QUANTITY_NEGATIVE
  INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW
  INVALID_REASON
  INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
  NON_MUTABLE_INVENTORY_ITEM
}

input ProductVariantsBulkInput { id: ID price: Money }

type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}

type ProductVariantsBulkUpdateUserError {
  field: [String!]
  code: ProductVariantsBulkUpdateUserErrorCode
  message: String!
}

enum ProductVariantsBulkUpdateUserErrorCode {
  GREATER_THAN_OR_EQUAL_TO
  INVALID_INPUT
  MUST_BE_FOR_THIS_PRODUCT
  NEGATIVE_PRICE_VALUE
  PRODUCT_DOES_NOT_EXIST
  PRODUCT_VARIANT_DOES_NOT_EXIST
  PRODUCT_VARIANT_ID_MISSING
}

type Order implements Node {
  id: ID!
  name: String!
  email: String
  createdAt: DateTime!
  currencyCode: CurrencyCode!
  displayFulfillmentStatus: String!
  totalPriceSet: MoneyBag!
}

type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
scalar Decimal

enum CurrencyCode { CHF DKK EUR GBP NOK PLN SEK USD }
enum CountryCode { AT BE CH DE DK ES FR GB IE IT LU NL PL PT SE US }

input OrderCreateOrderInput {
  email: String
  currency: CurrencyCode
  lineItems: [OrderCreateLineItemInput!]
  customer: OrderCreateCustomerInput
  shippingAddress: MailingAddressInput
  note: String
  tags: [String!]
}

input OrderCreateLineItemInput { variantId: ID sku: String quantity: Int! }
input OrderCreateCustomerInput { toUpsert: OrderCreateUpsertCustomerAttributesInput }
input OrderCreateUpsertCustomerAttributesInput {
  email: String
  firstName: String
  lastName: String
}

input MailingAddressInput {
  firstName: String
  lastName: String
  company: String
  address1: String
  address2: String
  city: String
  zip: String
  provinceCode: String
  countryCode: CountryCode
  phone: String
}

enum OrderCreateInputsInventoryBehavior {
  BYPASS
  DECREMENT_IGNORING_POLICY
  DECREMENT_OBEYING_POLICY
}

input OrderCreateOptionsInput {
  inventoryBehaviour: OrderCreateInputsInventoryBehavior = BYPASS
  sendReceipt: Boolean = false
  sendFulfillmentReceipt: Boolean = false
}

type OrderCreatePayload { order: Order userErrors: [OrderCreateUserError!]! }

type OrderCreateUserError {
  field: [String!]
  code: OrderCreateUserErrorCode
  message: String!
}

enum OrderCreateUserErrorCode {
  FULFILLMENT_SERVICE_INVALID
  INVALID
  INVENTORY_CLAIM_FAILED
  PROCESSED_AT_INVALID
  REDUNDANT_CUSTOMER_FIELDS
  SHOP_DORMANT
  TAX_LINE_RATE_MISSING
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!,
                            allowPartialUpdates: Boolean = false): ProductVariantsBulkUpdatePayload
  orderCreate(order: OrderCreateOrderInput!, options: OrderCreateOptionsInput): OrderCreatePayload
}
"""


def build() -> GraphQLSchema:
    """The schema without resolvers (``resolvers.bind`` adds them)."""
    return build_schema(SDL)
