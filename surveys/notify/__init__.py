"""Outbound I/O to people: safeguarding alerts by email and Telegram staff chat.

Everything that leaves the machine is here, behind small functions that tests point at our
own local servers by configuration.
"""
