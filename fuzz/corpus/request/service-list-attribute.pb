
/
ota-serviceservice"
team
firmware
sreota:downloadfirmware/cameras/2.4.1"
time
2026-11-28T12:00:00Z