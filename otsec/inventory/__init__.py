"""The asset inventory: one record per IP address seen sending, with its MACs, vendor,
roles derived from behaviour, services, and the identity its protocols disclose."""
