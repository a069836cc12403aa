"""What regulators read: supervision reads (freezes, links, participant
activity), daily statistics, surveillance reports.
"""
