#!/usr/bin/env python3
"""Writes golden.jsonl: the support agent's evaluation set, deterministically.

Each entry below is one question about a fictional outdoor-gear shop, the one to three
knowledge-base sentences that answer it, and a reference answer written the way a support lead
would (a paraphrase, so even a perfect extractive answer misses a word or two). The context an
item carries is its own sentences plus distractors drawn from other entries, shuffled with a
fixed seed, so re-running this script reproduces the file byte for byte.

    python3 gen_dataset.py            # rewrites golden.jsonl next to this script
    python3 gen_dataset.py --check    # fails if golden.jsonl is not what this script writes
"""

import argparse
import json
import random
import sys
from pathlib import Path

SEED = 20260514
DISTRACTORS = 4
OUT = Path(__file__).resolve().parent / "golden.jsonl"

# (topic, question, answering sentences, reference answer)
ENTRIES = [
    ("refunds", "How long until a refund to the original payment method appears on my card?",
     ["Refunds are issued to the original payment method within five business days of the return arriving at our warehouse.",
      "Your bank may need another three to five days before the refund appears on your card statement."],
     "Refunds go to the original payment method within five business days of the return arriving, and the bank may need three to five more days before it appears on the card statement."),
    ("refunds", "Do you refund the original shipping cost?",
     ["Original shipping charges are refunded only when the item arrived damaged or we shipped the wrong item."],
     "Shipping charges are refunded only if the item arrived damaged or the wrong item was shipped."),
    ("refunds", "Can I get a refund for a sale item?",
     ["Items bought on final sale cannot be refunded or exchanged.",
      "Sale items that are not marked final sale follow the normal refund policy."],
     "Final sale items cannot be refunded or exchanged, but other sale items follow the normal refund policy."),
    ("refunds", "How is a split payment with store credit and a card refunded?",
     ["Split payments are refunded in the same proportions, with store credit returned first.",
      "The card part of a split payment is refunded within five business days.",
      "Store credit from a refund never expires."],
     "Split payments are refunded in the same proportions: store credit is returned first and never expires, and the card part is refunded within five business days."),
    ("returns", "How many days do I have to return an item?",
     ["Unused items can be returned within 30 days of delivery.",
      "Holiday purchases made in November or December can be returned until January 31."],
     "Unused items can be returned within 30 days of delivery, and holiday purchases from November or December until January 31."),
    ("returns", "Is return shipping free?",
     ["Return shipping is free for members of the Trailhead loyalty program.",
      "Other customers pay a flat return shipping fee of 6 dollars, deducted from the refund."],
     "Return shipping is free for Trailhead members; other customers pay a flat 6 dollar fee deducted from the refund."),
    ("returns", "Can I return footwear or boots that show outdoor wear, and what must be included?",
     ["Footwear can be returned only if it shows no outdoor wear.",
      "Boots that fail within the first year are handled under the warranty instead of the return policy.",
      "Insoles and laces must be included with returned footwear."],
     "Footwear can be returned only without outdoor wear and with insoles and laces included; boots that fail within the first year are handled under the warranty."),
    ("returns", "How do I start a return?",
     ["Returns are started from the Orders page of your account by choosing Return Items.",
      "A prepaid label is emailed within one hour of starting the return."],
     "Start the return from the Orders page of your account with Return Items, and a prepaid label is emailed within one hour."),
    ("returns", "Can online orders be returned at retail stores, and how are store returns refunded?",
     ["Online orders can be returned at any of our twelve retail stores.",
      "Store returns are refunded immediately to the original payment method."],
     "Online orders can be returned at any of the twelve retail stores, and store returns are refunded immediately to the original payment method."),
    ("shipping", "How much does standard shipping cost?",
     ["Standard shipping costs 7 dollars and takes three to six business days.",
      "Orders over 75 dollars ship free with standard shipping."],
     "Standard shipping costs 7 dollars and takes three to six business days, and orders over 75 dollars ship free."),
    ("shipping", "Do you offer express delivery?",
     ["Express shipping delivers in one to two business days for 18 dollars.",
      "Express orders placed before noon Eastern time ship the same day."],
     "Express shipping takes one to two business days for 18 dollars, and express orders placed before noon Eastern ship the same day."),
    ("shipping", "Which countries do you ship to, how long international delivery takes, and do I owe import duties?",
     ["We ship to these countries: Canada, the United Kingdom and the European Union.",
      "International orders may owe import duties, which are collected by the carrier on delivery.",
      "International delivery takes seven to fourteen business days."],
     "We ship to Canada, the United Kingdom and the European Union in seven to fourteen business days; import duties may be collected by the carrier on delivery."),
    ("shipping", "Can I change my shipping address after ordering?",
     ["Shipping addresses can be changed within one hour of placing the order.",
      "After the first hour, contact support and we will try to redirect the package with the carrier."],
     "Shipping addresses can be changed within one hour of placing the order; after that, contact support and we will try to redirect the package with the carrier."),
    ("shipping", "My package says delivered but I cannot find it.",
     ["If a package marked delivered cannot be found, wait one day because carriers sometimes scan early.",
      "After one day, report the missing package and we will open a carrier claim and send a replacement."],
     "Wait one day because carriers sometimes scan early, then report the missing package so we open a carrier claim and send a replacement."),
    ("shipping", "Do you ship to PO boxes?",
     ["Standard shipping can be delivered to PO boxes.",
      "Express shipping and oversized items like kayaks cannot be delivered to PO boxes."],
     "Standard shipping can go to PO boxes, but express shipping and oversized items such as kayaks cannot."),
    ("billing", "Which payment methods are accepted, and do you accept cash on delivery or bank transfers?",
     ["We accept these payment methods: Visa, Mastercard, American Express, PayPal and Harbor gift cards.",
      "Cash on delivery and bank transfers are not accepted."],
     "We accept Visa, Mastercard, American Express, PayPal and Harbor gift cards, but not cash on delivery or bank transfers."),
    ("billing", "Why do I see a second charge for one order, and will the duplicate charge be refunded?",
     ["A second charge is usually a temporary authorization hold that disappears within three business days.",
      "If both charges remain after three business days, send us the order number and we will refund the duplicate."],
     "The second charge is usually a temporary authorization hold that disappears within three business days; if both remain, send the order number and we will refund the duplicate."),
    ("billing", "Can I get an invoice with my company details?",
     ["Invoices with a company name and tax number can be downloaded from the order details page.",
      "Company details must be added before the order ships because invoices cannot be edited afterwards."],
     "Invoices with a company name and tax number can be downloaded from the order details page, but the company details must be added before the order ships."),
    ("billing", "How is sales tax charged, and can tax exempt organizations upload an exemption certificate for future orders?",
     ["Sales tax is charged based on the delivery address.",
      "Tax exempt organizations can upload their exemption certificate in account settings.",
      "Approved exemption certificates apply to future orders only."],
     "Sales tax is charged based on the delivery address; tax exempt organizations can upload an exemption certificate in account settings, and certificates apply to future orders only."),
    ("billing", "Can I pay in installments, and does an installment plan need a credit check?",
     ["Orders between 100 and 2000 dollars can be split into four interest free installments at checkout.",
      "Installment plans are approved by our payment partner and require a soft credit check."],
     "Orders between 100 and 2000 dollars can be split into four interest free installments at checkout, after a soft credit check by our payment partner."),
    ("account", "How do I reset my password?",
     ["Use Forgot Password on the sign in page to receive a reset link by email.",
      "Password reset links expire after 30 minutes."],
     "Use Forgot Password on the sign in page to get a reset link by email; reset links expire after 30 minutes."),
    ("account", "How is account deletion requested, when is deletion completed, and what happens when deleting my account?",
     ["Account deletion is requested from the Privacy section of account settings.",
      "Deletion is completed within 30 days, and order records needed for tax purposes are kept for seven years.",
      "Deleting your account cancels any active subscriptions and forfeits unused loyalty points."],
     "Deletion is requested in the Privacy section of account settings and completed within 30 days; it cancels active subscriptions and forfeits loyalty points, while tax records are kept for seven years."),
    ("account", "Can I change the email address on my account?",
     ["The account email can be changed in account settings after confirming your password.",
      "A verification link is sent to the new email address and must be opened within 24 hours."],
     "The account email can be changed in account settings after confirming your password, and the verification link sent to the new address must be opened within 24 hours."),
    ("account", "Why is my account locked?",
     ["Accounts are locked for 15 minutes after five failed sign in attempts.",
      "Support can unlock an account sooner after verifying your identity."],
     "Five failed sign in attempts lock the account for 15 minutes, and support can unlock it sooner after verifying your identity."),
    ("account", "Is guest checkout available, how are guest orders tracked, and do guest orders earn loyalty points?",
     ["Guest checkout is available for all orders.",
      "Guest orders can be tracked with the order number and email address.",
      "Guest orders do not earn loyalty points."],
     "Guest checkout is available for all orders and tracked with the order number and email, but guest orders do not earn loyalty points."),
    ("subscription", "How do I cancel my gear subscription box?",
     ["Subscription boxes can be cancelled anytime from the Subscriptions page.",
      "Cancelling before the 20th of the month stops next month's box."],
     "Cancel the subscription box anytime from the Subscriptions page; cancelling before the 20th stops next month's box."),
    ("subscription", "Can subscriptions be paused, and do paused subscriptions keep their price?",
     ["Subscriptions can be paused for up to three months at a time.",
      "Paused subscriptions keep their original price when they resume."],
     "Subscriptions can be paused for up to three months and keep their original price when they resume."),
    ("subscription", "When are subscriptions charged, when do boxes ship, and what if the charge fails?",
     ["Subscriptions are charged on the 1st of each month.",
      "Boxes ship between the 3rd and the 7th after the charge succeeds.",
      "If the charge fails, we retry it three times over five days before pausing the subscription."],
     "Subscriptions are charged on the 1st and boxes ship between the 3rd and the 7th; if the charge fails, it is retried three times over five days before pausing the subscription."),
    ("subscription", "Can I change the size in my subscription box?",
     ["Clothing sizes for subscription boxes are set in the subscription preferences.",
      "Size changes made before the 20th apply to the next box."],
     "Set clothing sizes in the subscription preferences; changes made before the 20th apply to the next box."),
    ("warranty", "What does the warranty cover?",
     ["Our lifetime warranty covers defects in materials and workmanship.",
      "The warranty does not cover normal wear, accidents or damage from misuse."],
     "The lifetime warranty covers defects in materials and workmanship, but not normal wear, accidents or misuse."),
    ("warranty", "How are warranty claims submitted, reviewed and approved?",
     ["Warranty claims are submitted with photos of the defect through the warranty form.",
      "Approved warranty claims are repaired, replaced or refunded as store credit.",
      "Warranty claims are reviewed within ten business days."],
     "Warranty claims are submitted with photos of the defect through the warranty form, reviewed within ten business days, and approved claims are repaired, replaced or refunded as store credit."),
    ("warranty", "Do I need a receipt for a warranty claim?",
     ["A receipt is not required for warranty claims on items bought from us, because we can look up the order.",
      "Items bought from other retailers need proof of purchase."],
     "No receipt is needed for items bought from us because we look up the order, but items from other retailers need proof of purchase."),
    ("warranty", "Do you repair tents?",
     ["Our repair center fixes tent poles, zippers and torn fabric.",
      "Repairs outside the warranty cost a flat 25 dollars plus parts."],
     "The repair center fixes tent poles, zippers and torn fabric; repairs outside the warranty cost 25 dollars plus parts."),
    ("gift cards", "Do gift cards expire?",
     ["Harbor gift cards never expire and have no fees."],
     "Harbor gift cards never expire and have no fees."),
    ("gift cards", "Can I use more than one gift card on an order?",
     ["Up to five gift cards can be combined on one order.",
      "Any remaining balance can be paid with a card or PayPal."],
     "Up to five gift cards can be combined on one order, with any remaining balance paid by card or PayPal."),
    ("gift cards", "I lost my gift card. Can it be replaced?",
     ["Lost gift cards can be replaced if you have the original receipt or the card number.",
      "The replacement carries the balance that remained when the loss was reported."],
     "A lost gift card can be replaced with the original receipt or the card number, and the replacement carries the balance that remained when the loss was reported."),
    ("gift cards", "Can I return a gift card for cash?",
     ["Gift cards cannot be returned or exchanged for cash, except where state law requires it.",
      "California residents can redeem balances under 10 dollars for cash."],
     "Gift cards cannot be returned or exchanged for cash except where state law requires it; California residents can redeem balances under 10 dollars."),
    ("loyalty", "How do I earn loyalty points?",
     ["Trailhead members earn one point for every dollar spent.",
      "Members also earn 50 points for each product review with a photo."],
     "Trailhead members earn one point per dollar spent and 50 points for each product review with a photo."),
    ("loyalty", "How are points redeemed for rewards, and can rewards be combined or used on gift cards?",
     ["Points are redeemed for rewards at checkout, at 5 dollars for every 100 points.",
      "Rewards can be combined but cannot be used on gift cards."],
     "Points are redeemed for rewards at checkout, 5 dollars for every 100 points; rewards can be combined but not used on gift cards."),
    ("loyalty", "Do my points expire?",
     ["Loyalty points expire after twelve months without a purchase.",
      "Any purchase resets the twelve month expiry clock for all points."],
     "Points expire after twelve months without a purchase, and any purchase resets the expiry clock for all points."),
    ("loyalty", "What are the loyalty tiers?",
     ["The Summit tier starts at 1000 dollars of annual spending.",
      "Summit members get free express shipping and early access to sales.",
      "Tiers are recalculated every January."],
     "The Summit tier starts at 1000 dollars of annual spending, gives free express shipping and early access to sales, and tiers are recalculated every January."),
    ("privacy", "Do you sell my personal data, and with which service providers is data shared?",
     ["We never sell personal data to third parties.",
      "Data is shared only with service providers such as carriers and payment processors to fulfil orders."],
     "We never sell personal data; it is shared only with service providers such as carriers and payment processors to fulfil orders."),
    ("privacy", "How do I stop marketing emails?",
     ["Every marketing email has an unsubscribe link at the bottom.",
      "Unsubscribing takes effect within 48 hours, and order emails continue to be sent."],
     "Use the unsubscribe link at the bottom of any marketing email; it takes effect within 48 hours, and order emails continue to be sent."),
    ("privacy", "Can I get a copy of my data?",
     ["A copy of your personal data can be requested from the Privacy section of account settings.",
      "The data export is emailed as a download link within seven days.",
      "Download links for data exports expire after 72 hours."],
     "A copy of your personal data can be requested in the Privacy section of account settings; a download link is emailed within seven days and download links expire after 72 hours."),
    ("orders", "Can orders be cancelled, and what about packed orders?",
     ["Orders can be cancelled from the Orders page until they are packed, usually within two hours.",
      "Packed orders cannot be cancelled but can be returned after delivery."],
     "Orders can be cancelled from the Orders page until packed, usually within two hours; packed orders can be returned after delivery."),
    ("orders", "Can items be added to an order after it is placed, or should I place a second order?",
     ["Items cannot be added to an order after it is placed.",
      "Place a second order instead, and shipping is refunded if both orders ship on the same day."],
     "Items cannot be added to an order after it is placed; place a second order instead, and shipping is refunded if both orders ship on the same day."),
    ("orders", "Where is tracking available, and is a tracking link emailed when the order ships?",
     ["A tracking link is emailed when the order ships.",
      "Tracking is also available on the Orders page of your account."],
     "A tracking link is emailed when the order ships, and tracking is also on the Orders page of your account."),
    ("orders", "What if an item in my order is out of stock?",
     ["If an item sells out after you order, we ship the rest and refund the missing item.",
      "You can ask to be notified when the item is back in stock."],
     "If an item sells out after you order, we ship the rest and refund the missing item; you can ask to be notified when it is back in stock."),
]


def items() -> list[dict]:
    rng = random.Random(SEED)
    out = []
    for number, (topic, question, sentences, expected) in enumerate(ENTRIES, start=1):
        others = [s for j, entry in enumerate(ENTRIES) if j != number - 1 for s in entry[2]]
        context = sentences + rng.sample(others, DISTRACTORS)
        rng.shuffle(context)
        out.append({
            "id": f"q-{number:03d}",
            "input": {"question": question, "context": " ".join(context)},
            "expected": expected,
            "metadata": {"topic": topic, "answer_sentences": len(sentences)},
        })
    return out


def render() -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if golden.jsonl is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print("golden.jsonl is stale: run gen_dataset.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(ENTRIES)} items to {OUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
