"""PowerShell templates, one .ps1.j2 per action (shipped inside the wheel)."""
