"""The Luhn check digit of card numbers: it catches every single mistyped digit and most
swaps of two neighbours, which is what a counter clerk or a scanner gets wrong."""


def check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    if not payload.isdigit():
        raise ValueError("a card number's payload is digits only")
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: the check digit will sit to its right
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def is_valid(number: str) -> bool:
    """Whether a whole card number (payload + check digit) passes the Luhn check."""
    return len(number) >= 2 and number.isdigit() and check_digit(number[:-1]) == number[-1]


def normalise(typed: str) -> str:
    """A card number as typed or scanned: spaces and dashes dropped."""
    return "".join(ch for ch in (typed or "") if ch not in " -\t")
