"""jcfix: find and fix the Windows local-account problems that block JumpCloud takeover and provisioning."""

__version__ = "0.1.0"
