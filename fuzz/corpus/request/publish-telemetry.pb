
+
cam-0042devicecameras"
region
eumqtt:publish&devices/cam-0042/telemetry/temperature"
	source_ip

10.0.0.7