"""What a running dataex is configured with: settings from the environment
(settings.py), where the contracts and migrations are (paths.py), and the
licence template catalogue read from contracts/licences/.
"""
