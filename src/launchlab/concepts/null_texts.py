"""Descriptions of everyday products from many unrelated categories.

Their similarity to a need is what "no relation" looks like for the embedding model at hand, so
a concept's similarity to a need is read against it (a robust z-score) instead of as a raw
cosine, whose baseline differs between models and between needs. Apparel and fashion are left
out on purpose; a domain that overlaps one or two of these texts is handled by the robust
(median/MAD) statistics.
"""

from __future__ import annotations

NULL_TEXTS: tuple[str, ...] = (
    "A cordless drill driver with two lithium batteries, a charger and a carrying case.",
    "Wireless earbuds with active noise cancelling and thirty hours of battery life.",
    "A pre-seasoned cast iron skillet for searing steaks and baking cornbread.",
    "Grain-free dry dog food made with real chicken and sweet potato.",
    "A mortgage calculator app that compares fixed and variable rate loans.",
    "Organic slow-release fertilizer for tomatoes and vegetable gardens.",
    "A 27-inch computer monitor with a high refresh rate for gaming.",
    "Synthetic motor oil for high-mileage car engines.",
    "A family board game about trading resources and building settlements.",
    "Travel insurance covering trip cancellation and medical emergencies abroad.",
    "A stainless steel electric kettle with adjustable temperature settings.",
    "Clumping cat litter that controls odour and is low in dust.",
    "A robot vacuum cleaner that maps the house and empties its own bin.",
    "An introductory textbook on linear algebra with worked exercises.",
    "Vitamin D3 supplements in easy-to-swallow soft gels.",
    "A two-person backpacking tent that weighs under two kilograms.",
    "Noise-reducing acoustic foam panels for a home recording studio.",
    "A monthly subscription of freshly roasted single-origin coffee beans.",
    "Baby formula with iron for infants from birth to twelve months.",
    "A smart thermostat that learns your schedule and saves energy.",
    "Replacement printer ink cartridges in black and tri-colour.",
    "A mountain bike with hydraulic disc brakes and front suspension.",
    "Cloud storage for small businesses with shared folders and backups.",
    "A cordless leaf blower with a brushless motor.",
    "Dishwasher detergent pods that remove dried-on food.",
    "A beginner acoustic guitar with a gig bag, tuner and picks.",
    "An aquarium filter for tanks up to two hundred litres.",
    "Solar panels with micro-inverters for residential rooftops.",
    "A wooden toddler puzzle with chunky pieces shaped like farm animals.",
    "Frozen vegetable pizza with a thin crust, ready in twelve minutes.",
    "A car seat for toddlers with side impact protection.",
    "Garden hose with a brass nozzle that does not kink.",
    "An accounting software package for payroll and invoicing.",
    "A pressure washer for cleaning patios, decks and cars.",
    "Ergonomic office chair with lumbar support and adjustable armrests.",
    "Home security camera with night vision and motion alerts.",
    "A set of non-stick saucepans with glass lids.",
    "Printer paper, five hundred sheets, acid-free and bright white.",
    "A fitness tracker that counts steps and monitors heart rate and sleep.",
    "Bird seed mix for wild garden birds, with sunflower hearts.",
)
